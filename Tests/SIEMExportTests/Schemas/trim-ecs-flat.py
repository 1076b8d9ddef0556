#!/usr/bin/env python3
"""Trims ECS's generated/ecs/ecs_flat.yml to what the SIEMExport tests read: every field, with only its
type, level and normalize (array) attributes, and the names of its allowed values (with their
expected_event_types, for event.category). Descriptions and examples are dropped (they are most of the
upstream file); no field is left out.

Usage: trim-ecs-flat.py UPSTREAM_ecs_flat.yml > ecs-8.17.0/ecs_flat.yml
"""
import sys

import yaml

KEEP = ("type", "level", "normalize")

with open(sys.argv[1], encoding="utf-8") as upstream:
    fields = yaml.safe_load(upstream)

def trim(field):
    out = {key: field[key] for key in KEEP if field.get(key)}
    if field.get("allowed_values"):
        out["allowed_values"] = [
            {key: value[key] for key in ("name", "expected_event_types") if key in value} for value in field["allowed_values"]
        ]
    return out


trimmed = {name: trim(field) for name, field in fields.items()}
sys.stdout.write("# Trimmed from elastic/ecs v8.17.0 generated/ecs/ecs_flat.yml by trim-ecs-flat.py (see SOURCES.md).\n")
yaml.safe_dump(trimmed, sys.stdout, sort_keys=True, default_flow_style=False, allow_unicode=True)
