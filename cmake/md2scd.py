#!/usr/bin/env python3
"""Turns one of our Markdown docs into scdoc source, so that a man page is
generated from the doc at build time instead of being kept by hand.

Usage: md2scd.py NAME SECTION DESCRIPTION DOC.md [STOP_HEADING] > NAME.SECTION.scd

The doc's first "# " title is replaced by a NAME section; "## " headings become
man sections and "### " subsections; tables become indented term lists (first
column, then the second, then "header: value" for the others); fenced code
becomes literal blocks; list items and paragraphs are unwrapped. Reading stops
at the "## STOP_HEADING" section when one is given (the rest of the doc is not
reference material for the man page). Only the subset of Markdown the docs use
is handled: anything else goes through as text, with scdoc's markup
characters escaped, so the output always builds.
"""

import re
import sys


def escape(text):
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_") \
        .replace("`", "\\`")


def inline(text):
    """Markdown inline markup to scdoc: **bold** and `code` → *bold* (as man
    pages show commands and options), links → text (url); scdoc's own markup
    characters escaped everywhere else."""
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 (\2)", text)
    out = []
    for part in re.split(r"(\*\*[^*]+\*\*|`[^`]+`)", text):
        if part.startswith("**") and part.endswith("**") and len(part) > 4:
            out.append(f"*{escape(part[2:-2])}*")
        elif part.startswith("`") and part.endswith("`") and len(part) > 2:
            out.append(f"*{escape(part[1:-1])}*")
        else:
            out.append(escape(part))
    return "".join(out)


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def table(rows):
    header = cells(rows[0])
    lines = []
    for row in rows[2:]:
        c = cells(row)
        c += [""] * (len(header) - len(c))
        lines.append(inline(c[0]))
        desc = inline(c[1]) if len(c) > 1 else ""
        extra = [f"{header[i]}: {inline(c[i])}" for i in range(2, len(header))
                 if c[i] and c[i] not in ("—", "-")]
        lines.append("\t" + "; ".join(x for x in [desc] + extra if x))
        lines.append("")
    return lines


def convert(name, section, description, md, stop):
    out = [f"{name}({section})", "", "# NAME", "", f"{name} - {inline(description)}", ""]
    lines = md.splitlines()
    i = 0
    para = []

    def flush():
        if para:
            out.append(inline(" ".join(para)))
            out.append("")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("# ") and i < 3:
            i += 1
            continue
        if line.startswith("```"):
            flush()
            out.append("```")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(lines[i].replace("\t", "    ").replace("\\", "\\\\"))
                i += 1
            out.append("```")
            out.append("")
            i += 1
            continue
        if line.startswith("#"):
            flush()
            level, title = len(line) - len(line.lstrip("#")), line.lstrip("#").strip()
            if level == 2 and stop and title == stop:
                break
            mark = "#" if level <= 2 else "##"
            title = title.upper() if level <= 2 else title
            out.extend([f"{mark} {inline(title)}", ""])
            i += 1
            continue
        if line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out.extend(table(rows))
            continue
        item = re.match(r"^(- |\d+\. )(.*)", line)
        if item:
            flush()
            text = [item.group(2)]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                text.append(lines[i].strip())
                i += 1
            bullet = "-" if item.group(1) == "- " else "."
            out.append(f"{bullet} {inline(' '.join(text))}")
            if i >= len(lines) or not re.match(r"^(- |\d+\. )", lines[i]):
                out.append("")
            continue
        if not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__.splitlines()[3])
    name, section, description, path = sys.argv[1:5]
    stop = sys.argv[5] if len(sys.argv) == 6 else None
    with open(path, encoding="utf-8") as f:
        sys.stdout.write(convert(name, section, description, f.read(), stop))


if __name__ == "__main__":
    main()
