// Entrance display: follows /events/occupancy (server-sent events) for one store.
// The browser's EventSource reconnects by itself after a dropped stream (the server asks for
// 1 s); when it gives up (an HTTP error) or the stream goes silent past the heartbeat, this
// script reconnects with backoff. No reload is ever needed.
(() => {
  "use strict";

  const SILENCE_LIMIT_MILLISECONDS = 30000; // the server sends a heartbeat every 10 s
  const FIRST_RETRY_MILLISECONDS = 1000;
  const MAXIMUM_RETRY_MILLISECONDS = 15000;

  const body = document.body;
  const element = (id) => document.getElementById(id);
  const pathParts = window.location.pathname.replace(/\/+$/, "").split("/");
  const store = decodeURIComponent(pathParts[pathParts.length - 1]);
  const storeQuery = encodeURIComponent(store);

  let source = null;
  let retryMilliseconds = FIRST_RETRY_MILLISECONDS;
  let silenceTimer = null;
  let retryTimer = null;

  // "Counting paused" whenever the API cannot vouch for the count: an entrance camera is
  // offline (its device's Last Will), silent past api.camera_silence_seconds or without
  // video. The last count stays visible, dimmed, with the time it was last updated.
  function render(occupancy) {
    const counting = occupancy.counting || { state: "live", reasons: [] };
    const paused = counting.state === "paused";
    const waiting = !paused && occupancy.over_capacity === true;
    const hasCapacity = occupancy.capacity !== null && occupancy.capacity !== undefined;
    element("occupancy").textContent = String(occupancy.occupancy);
    element("capacity").textContent = hasCapacity ? String(occupancy.capacity) : "";
    element("capacity-block").hidden = !hasCapacity;
    if (paused) {
      element("message").textContent = "Counting paused";
      element("detail").textContent = sentence(counting.reasons[0] || "counting is paused");
    } else {
      element("message").textContent = waiting ? "Please wait" : "Welcome";
      element("detail").textContent = waiting
        ? "We are full right now. Thank you for waiting."
        : "Please come in";
    }
    element("updated").textContent = updatedText(occupancy.last_update_utc || occupancy.time_utc);
    body.dataset.state = paused ? "paused" : waiting ? "wait" : "welcome";
    body.dataset.occupancy = String(occupancy.occupancy);
    body.dataset.crossings = String(occupancy.entries_today + occupancy.exits_today);
    body.dataset.timeUtc = occupancy.time_utc;
    body.dataset.lastUpdateUtc = occupancy.last_update_utc || "";
  }

  function sentence(text) {
    return text.charAt(0).toUpperCase() + text.slice(1) + ".";
  }

  function updatedText(isoTime) {
    const moment = new Date(isoTime);
    if (Number.isNaN(moment.getTime())) {
      return "";
    }
    const clock = moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    return "Updated " + clock;
  }

  function setConnection(state) {
    body.dataset.connection = state;
    element("connection").hidden = state !== "lost";
    if (state === "live" && body.dataset.state === "unknown") {
      element("message").textContent = "Waiting for the first count";
    }
  }

  function expectTraffic() {
    window.clearTimeout(silenceTimer);
    silenceTimer = window.setTimeout(reconnectLater, SILENCE_LIMIT_MILLISECONDS);
  }

  function reconnectLater() {
    if (source !== null) {
      source.close();
      source = null;
    }
    setConnection("lost");
    window.clearTimeout(silenceTimer);
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(connect, retryMilliseconds);
    retryMilliseconds = Math.min(retryMilliseconds * 2, MAXIMUM_RETRY_MILLISECONDS);
  }

  function connect() {
    source = new EventSource("../events/occupancy?store=" + storeQuery);
    source.addEventListener("open", () => {
      retryMilliseconds = FIRST_RETRY_MILLISECONDS;
      setConnection("live");
      expectTraffic();
    });
    source.addEventListener("occupancy", (event) => {
      render(JSON.parse(event.data));
      setConnection("live");
      expectTraffic();
    });
    source.addEventListener("heartbeat", expectTraffic);
    source.addEventListener("error", () => {
      setConnection("lost");
      if (source !== null && source.readyState === EventSource.CLOSED) {
        reconnectLater();
      }
    });
  }

  function showStoreName() {
    fetch("../stores/" + storeQuery)
      .then((response) => (response.ok ? response.json() : null))
      .then((summary) => {
        const name = summary !== null && summary.name ? summary.name : store;
        element("store-name").textContent = name;
        document.title = name + " – occupancy";
      })
      .catch(() => {
        element("store-name").textContent = store;
      });
  }

  showStoreName();
  connect();
})();
