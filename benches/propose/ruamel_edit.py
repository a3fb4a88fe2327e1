"""The baseline of the propose bench: the same edits through ruamel.yaml's round-trip mode.

Usage: python ruamel_edit.py REPO EDITS.json

It is told where to edit (the bench exports attune's plan), so it reads only the files it
edits: a generous baseline, since attune also reads every other file to find the workloads.
Each set names a document, a path
of keys and indexes, and the new string value; an embedded set edits the YAML inside a string
(an inline Kustomize patch). Missing mappings and sequence items on the way are created, so a
new file is built from nothing. Edited files are written back with ruamel's dump (round trip,
quotes preserved, default indentation) and new files created. Prints one JSON line with its
own timings.
"""
import json
import os
import sys
import time
from io import StringIO

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString


def new_yaml():
    y = YAML()
    y.preserve_quotes = True
    return y


def load_docs(y, text):
    return list(y.load_all(text))


def dump_docs(y, docs):
    out = StringIO()
    if len(docs) == 1:
        y.explicit_start = False
        y.dump(docs[0], out)
    else:
        y.explicit_start = True
        y.dump_all(docs, out)
    return out.getvalue()


def set_path(root, path, value):
    node = root
    for i, seg in enumerate(path):
        last = i == len(path) - 1
        nxt = None if last else path[i + 1]
        fresh = lambda: CommentedSeq() if isinstance(nxt, int) else CommentedMap()
        if isinstance(seg, int):
            while len(node) <= seg:
                node.append(value if last else fresh())
            if last:
                node[seg] = value
            else:
                node = node[seg]
        else:
            if last:
                node[seg] = value
            else:
                if seg not in node or node[seg] is None:
                    node[seg] = fresh()
                node = node[seg]


def get_path(root, path):
    node = root
    for seg in path:
        node = node[seg]
    return node


def apply_file(y, text, sets, embedded):
    docs = load_docs(y, text) if text else []
    for s in sets:
        while len(docs) <= s["doc"]:
            docs.append(CommentedMap())
        if docs[s["doc"]] is None:
            docs[s["doc"]] = CommentedMap()
        set_path(docs[s["doc"]], s["path"], s["value"])
    for e in embedded:
        inner_text = str(get_path(docs[e["doc"]], e["path"]))
        inner_y = new_yaml()
        inner = load_docs(inner_y, inner_text)
        for s in e["sets"]:
            set_path(inner[s["doc"]], s["path"], s["value"])
        set_path(docs[e["doc"]], e["path"], LiteralScalarString(dump_docs(inner_y, inner)))
    return dump_docs(y, docs)


def main():
    repo, edits_path = sys.argv[1], sys.argv[2]
    with open(edits_path) as f:
        edits = json.load(f)
    t1 = time.perf_counter()
    y = new_yaml()
    for e in edits["files"]:
        path = os.path.join(repo, e["path"])
        text = ""
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
        out = apply_file(y, text, e["sets"], e["embedded"])
        with open(path, "w") as f:
            f.write(out)
    t2 = time.perf_counter()
    print(json.dumps({"files": len(edits["files"]), "edit_ms": (t2 - t1) * 1000}))


if __name__ == "__main__":
    main()
