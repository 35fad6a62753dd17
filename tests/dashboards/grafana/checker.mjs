// Grafana's own data-frame code on the dashboards' query results, without a Grafana server.
// GRAFANA_DATA=<dir> runs another installed @grafana/data (data-11.6/).
// Reads one JSON request on stdin, writes one JSON answer on stdout:
//   {"jobs": [{"kind": "panel", "frames": [...], "transformations": [...],
//              "fieldConfig": {...}, "timeZone": "UTC"},
//             {"kind": "annotation", "annotation": {...}, "frames": [...]}]}
// - panel: the frames (as Grafana's InfluxDB backend returns them) go through the panel's
//   transformations with @grafana/data's transformDataFrame and standard transformers, then
//   every value is formatted by getDisplayProcessor with the panel's field config (unit,
//   decimals, value mappings, thresholds); the answer holds each field's display name, type,
//   raw values and display texts and colours.
// - annotation: the annotation is prepared and its result parsed as Grafana's InfluxDB
//   plugin does (influxdb_annotations.mjs); the answer holds the events, or null when the
//   plugin would not run the annotation at all (no target query).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// GRAFANA_DATA: the directory whose node_modules hold the @grafana/data to run (default: this
// one, 13.2.3; data-11.6/ holds Grafana 11.6's). Its ES module build does not load in Node
// (moment-timezone is CommonJS); its CommonJS build does.
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(process.env.GRAFANA_DATA ?? here, 'package.json'));

function loadGrafanaData() {
  try {
    return require('@grafana/data');
  } catch (error) {
    // 11.x reads `window` while loading; 12+ must load without one (a dependency would then
    // take Node for a browser), and looks for a Scenes context on it when transforming.
    if (!(error instanceof ReferenceError) || !error.message.includes('window')) {
      throw error;
    }
    globalThis.window = {};
    return require('@grafana/data');
  }
}

const { lastValueFrom } = require('rxjs');
const {
  createDataFrame,
  createTheme,
  formattedValueToString,
  getDisplayProcessor,
  getFieldDisplayName,
  standardTransformers,
  standardTransformersRegistry,
  transformDataFrame,
} = loadGrafanaData();
globalThis.window = globalThis.window ?? {};
// Date formats follow the browser's locale; Node 20 has no navigator: an en-US browser.
globalThis.navigator = globalThis.navigator ?? { language: 'en-US', languages: ['en-US'] };

import { prepareAnnotation, transformAnnotationResponse } from './influxdb_annotations.mjs';

// Grafana's app registers its transformers at start-up; @grafana/data exports the standard
// ones (seriesToColumns is an older name of joinByField with the same id: the first wins).
const byId = new Map();
for (const transformer of Object.values(standardTransformers)) {
  // Grafana 12+ loads a transformer lazily (`transformation()`), 11.x reads it directly
  // (`transformation.operator`): one function serves both.
  const lazy = () => transformer;
  lazy.operator = transformer.operator;
  lazy.defaultOptions = transformer.defaultOptions;
  if (!byId.has(transformer.id)) {
    byId.set(transformer.id, {
      id: transformer.id,
      name: transformer.name,
      description: transformer.description,
      transformation: lazy,
    });
  }
}
standardTransformersRegistry.setInit(() => Array.from(byId.values()));
const theme = createTheme();

function setDeep(target, path, value) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] = node[key] ?? {};
    node = node[key];
  }
  node[keys[keys.length - 1]] = value;
}

// The panel's field config on one field: defaults, then byName overrides (the matcher the
// dashboards use), as Grafana's applyFieldOverrides merges them.
function fieldConfigFor(fieldConfig, displayName) {
  const config = structuredClone(fieldConfig?.defaults ?? {});
  for (const rule of fieldConfig?.overrides ?? []) {
    if (rule.matcher.id === 'byName' && rule.matcher.options === displayName) {
      for (const property of rule.properties) {
        setDeep(config, property.id, property.value);
      }
    }
  }
  return config;
}

async function panel(job) {
  const frames = job.frames.map((frame) => createDataFrame(frame));
  const context = { interpolate: (text) => text };
  const transformed = await lastValueFrom(transformDataFrame(job.transformations ?? [], frames, context));
  return {
    frames: transformed.map((frame) => ({
      name: frame.name ?? null,
      refId: frame.refId ?? null,
      fields: frame.fields.map((field) => {
        const displayName = getFieldDisplayName(field, frame, transformed);
        const config = { ...fieldConfigFor(job.fieldConfig, displayName), ...field.config };
        const display = getDisplayProcessor({ field: { ...field, config }, theme, timeZone: job.timeZone });
        const shown = Array.from(field.values, (value) => display(value));
        return {
          name: field.name,
          displayName,
          type: field.type,
          values: Array.from(field.values),
          texts: shown.map((value) => formattedValueToString(value)),
          colors: shown.map((value) => value.color ?? null),
        };
      }),
    })),
  };
}

function annotation(job) {
  const prepared = prepareAnnotation(structuredClone(job.annotation));
  const target = prepared.target;
  if (!target || !target.query) {
    return { events: null };
  }
  const frames = job.frames.map((frame) => createDataFrame(frame));
  const request = { refId: 'metricFindQuery', query: target.query, rawQuery: true };
  return { events: transformAnnotationResponse(target, frames, request) };
}

const request = JSON.parse(readFileSync(0, 'utf8'));
const answers = [];
for (const job of request.jobs) {
  answers.push(job.kind === 'annotation' ? annotation(job) : await panel(job));
}
process.stdout.write(JSON.stringify({ answers }));
