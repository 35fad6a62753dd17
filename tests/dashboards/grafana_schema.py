"""Grafana's published dashboard JSON schemas (``tests/dashboards/grafana/schemas``, from the
grafana-foundation-sdk repository, Apache-2.0) applied to the generated dashboards: the
dashboard itself, and each panel's ``options`` and ``fieldConfig.defaults.custom`` against
its panel plugin's schema.

Three documented differences from the raw files, each where the schema contradicts what
Grafana itself reads and writes (and the ``main`` schema already agrees with Grafana):

- a property that has a ``default`` is optional: the generator marks every defaulted field
  required, while Grafana fills defaults when it loads a panel or dashboard;
- a threshold step's ``value`` may be ``null``: Grafana writes the base step's -infinity as
  ``null`` (the 10.4/11.6 schemas say so in the field's description; ``main`` allows it);
- an annotation's ``target`` is the datasource's query: 10.4/11.6 describe it with the
  built-in Grafana datasource's four keys and a TODO ("this should be a regular DataQuery");
  ``main`` allows any object;
- a field override's matcher ``options`` and property ``value`` are any JSON value (CUE
  ``_``), which the generator writes as "object": Grafana's own ``byName`` matcher takes the
  field name as a string, and a ``unit`` property's value is a string.

Everything else is strict, in particular ``additionalProperties: false``: a legacy or
misspelt key fails.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).resolve().parent / "grafana" / "schemas"
VERSIONS = ("10.4", "11.6", "main")
"""Grafana versions whose schemas are vendored: 10.4.x, 11.6.x and the SDK's main (12.x)."""
Json = dict[str, Any]


def _relax(node: Any) -> None:
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict) and "required" in node:
            node["required"] = [
                name
                for name in node["required"]
                if not (isinstance(properties.get(name), dict) and "default" in properties[name])
            ]
        for value in node.values():
            _relax(value)
    elif isinstance(node, list):
        for value in node:
            _relax(value)


@cache
def _schema(version: str, name: str) -> Json | None:
    path = SCHEMAS / version / f"{name}.jsonschema.json"
    if not path.is_file():
        return None
    schema: Json = json.loads(path.read_text(encoding="utf-8"))
    schema = copy.deepcopy(schema)
    _relax(schema)
    definitions = schema["definitions"]
    if "Threshold" in definitions:
        definitions["Threshold"]["properties"]["value"] = {"type": ["number", "null"]}
    if "AnnotationQuery" in definitions:
        definitions["AnnotationQuery"]["properties"]["target"] = {"type": "object"}
    if "MatcherConfig" in definitions:
        definitions["MatcherConfig"]["properties"]["options"] = {}
    if "DynamicConfigValue" in definitions:
        definitions["DynamicConfigValue"]["properties"]["value"] = {}
    return schema


def _errors(schema: Json, instance: Any, where: str) -> Iterator[str]:
    for error in jsonschema.Draft7Validator(schema).iter_errors(instance):
        best = jsonschema.exceptions.best_match([error, *(error.context or [])])
        path = "/".join(str(part) for part in best.absolute_path)
        yield f"{where}/{path}: {best.message[:300]}"


def _part(plugin: Json, definition: str) -> Json | None:
    if definition not in plugin["definitions"]:
        return None
    return {"$ref": f"#/definitions/{definition}", "definitions": plugin["definitions"]}


def schema_errors(dashboard: Json, version: str) -> list[str]:
    """Every violation of Grafana ``version``'s schemas, as ``path: message``; empty when the
    dashboard is valid."""
    schema = _require(version, "dashboard")
    found = list(_errors(schema, {**dashboard, "panels": []}, "dashboard"))
    panel_schema = {"$ref": "#/definitions/Panel", "definitions": schema["definitions"]}
    for index, panel in enumerate(dashboard.get("panels", [])):
        found += _errors(panel_schema, panel, f"dashboard/panels/{index}")
        plugin = _schema(version, panel["type"])
        if plugin is None:
            found.append(f"panel {panel.get('title')!r}: no schema for type {panel['type']!r}")
            continue
        where = f"panel {panel.get('title')!r}"
        options = _part(plugin, "Options")
        if options is not None:
            found += _errors(options, panel.get("options", {}), f"{where} options")
        custom = _part(plugin, "FieldConfig")
        if custom is not None:
            defaults = panel.get("fieldConfig", {}).get("defaults", {})
            found += _errors(custom, defaults.get("custom", {}), f"{where} custom")
    return found


def _require(version: str, name: str) -> Json:
    schema = _schema(version, name)
    if schema is None:
        raise FileNotFoundError(f"no vendored schema {name} for Grafana {version} in {SCHEMAS}")
    return schema
