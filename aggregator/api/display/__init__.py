"""Static assets of the entrance display page (HTML, CSS, JS); no CDN, no build step."""
