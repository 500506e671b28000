"""Copies one Kubernetes release's strict JSON schemas out of the kubernetes-validate wheel,
each made self-contained (see kubernetes-schemas.ts): extract-kubernetes-schemas.py WHEEL RELEASE OUT"""
import json, os, sys, zipfile
wheel, release, out = sys.argv[1:4]
prefix = f"kubernetes_validate/kubernetes-json-schema/v{release}-local-strict/"
REMOTE, LOCAL = "/api/_definitions.json#/$defs/", "#/$defs/"

def refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                for p in (REMOTE, LOCAL):
                    if value.startswith(p):
                        found.add(value[len(p):])
            else:
                refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)

def relink(node):
    if isinstance(node, dict):
        return {k: ("#/definitions/" + v.split("/$defs/", 1)[1] if k == "$ref" and isinstance(v, str) and "/$defs/" in v else relink(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [relink(v) for v in node]
    return node

count = 0
with zipfile.ZipFile(wheel) as z:
    definitions = json.loads(z.read(prefix + "_definitions.json"))["$defs"]
    for name in z.namelist():
        file = name[len(prefix):]
        if not name.startswith(prefix) or not file.endswith(".json") or file.startswith("_") or "/" in file:
            continue
        schema = json.loads(z.read(name))
        wanted, reached = set(), set()
        refs(schema, wanted)
        while wanted:
            key = wanted.pop()
            if key in reached:
                continue
            reached.add(key)
            more = set()
            refs(definitions[key], more)
            wanted |= more - reached
        schema = relink(schema)
        if reached:
            schema["definitions"] = {key: relink(definitions[key]) for key in sorted(reached)}
        with open(os.path.join(out, file), "w", encoding="utf-8") as f:
            json.dump(schema, f)
        count += 1
if count == 0:
    sys.exit(f"no schemas for Kubernetes {release} in {wheel}")
