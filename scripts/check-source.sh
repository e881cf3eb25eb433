#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Source checks the compiler does not make:
#   (a) no function in include/mobilenet/model/ or include/mobilenet/kernels/ is longer than
#       80 lines (first line of its declaration, template line included, to its closing brace);
#   (b) no comment in include/ keeps a timing or a diary note (milliseconds, GFLOP/s, a CPU
#       model, "this machine", "N% faster"): comments state the contract and the reason, and
#       measurements live in docs/.
# Prints file:line for each finding; exits 1 if there is any.
# Usage: scripts/check-source.sh [max-lines]   (from anywhere; checks this checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
max_lines="${1:-80}"
status=0

long=$(/usr/bin/env python3 - "$max_lines" include/mobilenet/model include/mobilenet/kernels <<'PY'
import os, re, sys

MAX = int(sys.argv[1])
FUNCTION_END = re.compile(r"(\)|\bconst|\bnoexcept|\boverride|\bfinal|\bmutable|->\s*[\w:<>,\s*&]+)\s*$")
CLASS_HEAD = re.compile(r"\b(class|struct|union|enum)\b")
NAMESPACE_HEAD = re.compile(r"^\s*(inline\s+)?namespace\b|^\s*extern\s+\"C")


def strip(text):
    """Comments, string and character literals and preprocessor lines blanked, newlines kept."""
    out, i, n = [], 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c); i += 1; continue
        if line_start and c == "#":  # a preprocessor line, with its continuations
            while i < n and not (text[i] == "\n" and text[i - 1] != "\\"):
                out.append("\n" if text[i] == "\n" else " "); i += 1
            continue
        line_start = c == "\n"
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" "); i += 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2); j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c in "\"'" and not (c == "'" and i > 0 and text[i - 1].isalnum()):
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i)); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)


def function_name(header):
    header = re.sub(r"^\s*template\s*<.*?>\s*(?=[A-Za-z_~])", "", header, flags=re.S)
    m = re.search(r"(operator\s*[^\s(]+|~?[A-Za-z_]\w*)\s*(<[^()]*>)?\s*\(", header)
    return m.group(1) if m else "?"


def check(path):
    text = strip(open(path, encoding="utf-8", errors="replace").read())
    stack = []  # (kind, start line, name) of the open braces
    header, header_line, line = "", None, 1
    for c in text:
        if c == "\n":
            line += 1
        in_body = any(s[0] in ("function", "other") for s in stack)
        if c == "{":
            if in_body:
                stack.append(("other", line, "", None))
                continue
            h = header.strip()
            if "(" in h and (FUNCTION_END.search(h) or (re.search(r"\)\s*:", h) and h.endswith("}"))):
                stack.append(("function", header_line or line, function_name(h), None))
            elif NAMESPACE_HEAD.search(h) or CLASS_HEAD.search(h) and "(" not in h.split("{")[0]:
                stack.append(("scope", line, "", None))
                header, header_line = "", None
            else:  # a brace initializer at namespace or class scope: part of the header
                stack.append(("init", line, "", None))
            continue
        if c == "}":
            if not stack:
                continue
            kind, start, name, _ = stack.pop()
            if kind == "function":
                length = line - start + 1
                if length > MAX:
                    print(f"{path}:{start}: {name} is {length} lines (max {MAX})")
                header, header_line = "", None
            elif kind == "scope":
                header, header_line = "", None
            elif kind == "init":
                header += "{}"
            continue
        if in_body:
            continue
        if c == ";":
            header, header_line = "", None
            continue
        if not c.isspace() and header_line is None:
            header_line = line
        header += c


for root in sys.argv[2:]:
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith((".hpp", ".h", ".inl")):
                check(os.path.join(dirpath, f))
PY
)
if [[ -n "$long" ]]; then
  echo "Functions over $max_lines lines:"
  echo "$long"
  status=1
fi

diary=$(grep -rnE '//.*([0-9][0-9.]* ?(ms|us|µs|GB/s|GFLOP/s)\b|Zen ?[0-9]|this (VM|machine)|[0-9]+% (faster|slower))' include || true)
if [[ -n "$diary" ]]; then
  echo "Comments with timings or diary notes (state the contract; measurements go to docs/):"
  echo "$diary"
  status=1
fi

[[ $status -eq 0 ]] && echo "check-source: ok"
exit $status
