// Grafana's InfluxDB plugin (InfluxQL, server-side queries): how an annotation's query result
// becomes annotation events. Transcribed from grafana/grafana
// public/app/plugins/datasource/influxdb/response_parser.ts (transformAnnotationResponse,
// colContainsTag, getTableCols, getTableRows, getSelectedParams) and migrations.ts
// (prepareAnnotation), Grafana 11.x-13.x, licensed AGPL-3.0 like footfall. Only TypeScript
// types, lodash helpers and the app's TableModel class (a {columns, rows} pair) are replaced by
// plain JavaScript; the matching logic is unchanged.

// migrations.ts: legacy top-level keys move into the target only when a target without a
// query exists; an annotation without a target keeps none (and is never run).
export function prepareAnnotation(json) {
  const migrate = (legacy) => {
    const target = {
      refId: '',
      query: legacy.query ?? '',
      queryType: 'tags',
      fromAnnotations: true,
      tagsColumn: legacy.tagsColumn ?? '',
      textColumn: legacy.textColumn ?? '',
      timeEndColumn: legacy.timeEndColumn ?? '',
      titleColumn: legacy.titleColumn ?? '',
      name: legacy.name ?? '',
    };
    if (legacy.target && legacy.target.limit) {
      target.limit = legacy.target.limit;
    }
    if (legacy.target && legacy.target.tags) {
      target.tags = legacy.target.tags;
    }
    return target;
  };
  json.target = json.target && !json.target?.query ? migrate(json) : json.target;
  return json;
}

function colContainsTag(colText, tagsColumn) {
  const tags = (tagsColumn || '').replace(' ', '').split(',');
  for (const tag of tags) {
    if (tag !== '' && colText.includes(tag)) {
      return true;
    }
  }
  return false;
}

function getSelectedParams(target) {
  const allParams = [];
  (target.select ?? []).forEach((select) => {
    const selector = select.filter((x) => x.type !== 'field');
    if (selector.length > 0) {
      const aliasIfExist = selector.find((s) => s.type === 'alias');
      allParams.push(aliasIfExist ? (aliasIfExist.params?.[0].toString() ?? '') : selector[0].type);
    } else if (select[0] && select[0].params && select[0].params[0]) {
      allParams.push(select[0].params[0].toString());
    }
  });
  return allParams;
}

function getTableCols(dfs, table, target) {
  const selectedParams = getSelectedParams(target);
  dfs[0].fields.forEach((field) => {
    if (field.name.toLowerCase() === 'time') {
      table.columns.push({ text: 'Time', type: 'time' });
    } else if (field.name.toLowerCase() === 'value') {
      if (field.labels) {
        Object.keys(field.labels).forEach((key) => table.columns.push({ text: key }));
      }
    }
  });
  if (dfs[0].refId === 'metricFindQuery') {
    dfs.forEach((field) => {
      if (field.name) {
        table.columns.push({ text: field.name });
      }
    });
  }
  for (const param of selectedParams) {
    table.columns.push({ text: param });
  }
  return table;
}

function getTableRows(dfs, table, labels) {
  const values = dfs[0].fields[0].values;
  for (let i = 0; i < values.length; i++) {
    const time = values[i];
    const metrics = dfs.map((df) => (df.fields[1] ? df.fields[1].values[i] : null));
    if (metrics.indexOf(null) < 0) {
      table.rows.push([time, ...labels, ...metrics]);
    }
  }
  return table;
}

function getTable(dfs, target) {
  let table = { columns: [], rows: [] };
  if (dfs.length > 0) {
    table = getTableCols(dfs, table, target);
    if (dfs[0].fields[1] && dfs[0].fields[1].labels) {
      const groups = new Map();
      for (const df of dfs) {
        const key = Object.values(df.fields[1].labels ?? {}).join(',');
        groups.set(key, [...(groups.get(key) ?? []), df]);
      }
      for (const [key, group] of groups) {
        table = getTableRows(group, table, [...key.split(',')]);
      }
    } else {
      table = getTableRows(dfs, table, []);
    }
  }
  return table;
}

// response_parser.ts transformAnnotationResponse: `frames` are the backend's answer to the
// target {refId: 'metricFindQuery', query, rawQuery: true} built by annotationEvents.
export function transformAnnotationResponse(annotation, frames, target) {
  const table = getTable(frames, target);
  const list = [];
  let titleColIndex = 0;
  let timeColIndex = 0;
  let timeEndColIndex = 0;
  let textColIndex = 0;
  const tagsColIndexes = [];

  table.columns.forEach((column, index) => {
    if (column.text.toLowerCase() === 'time') {
      timeColIndex = index;
      return;
    }
    if (column.text === annotation.titleColumn) {
      titleColIndex = index;
      return;
    }
    if (colContainsTag(column.text, annotation.tagsColumn)) {
      tagsColIndexes.push(index);
      return;
    }
    if (annotation.textColumn && column.text.includes(annotation.textColumn)) {
      textColIndex = index;
      return;
    }
    if (column.text === annotation.timeEndColumn) {
      timeEndColIndex = index;
      return;
    }
    // legacy case
    if (!titleColIndex && textColIndex !== index) {
      titleColIndex = index;
    }
  });

  table.rows.forEach((value) => {
    list.push({
      time: +new Date(value[timeColIndex]),
      title: value[titleColIndex],
      timeEnd: value[timeEndColIndex],
      tags: tagsColIndexes.filter((t) => value[t]).flatMap((t) => value[t].split(',')),
      text: value[textColIndex],
    });
  });
  return list;
}
