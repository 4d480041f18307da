"""Writes a connection matrix (dialer x listener) as JSON, Markdown and an
SVG grid with one colour per path (docs/netlab.md)."""

import html
import json

# The paths a connection can take, with their colours in the SVG.
PATH_COLOURS = {
    "direct TCP": "#2e9d4a",
    "direct UDP": "#61c2a2",
    "punched TCP": "#2f6fbf",
    "punched UDP": "#8e5cc4",
    "relayed": "#e08a1e",
    None: "#d4d4d4",  # not connected
}


def cell_text(cell):
    if cell is None:
        return "—"
    if not cell["connected"]:
        return "no"
    via = f" ({cell['via']})" if cell.get("via") else ""
    return f"{cell['path']}{via}, {cell['ms']} ms"


def write_json(path, matrix):
    with open(path, "w") as f:
        json.dump(matrix, f, indent=1)


def markdown(matrix):
    names = matrix["endpoints"]
    label = {n: f"{n} ({matrix['kinds'][n]})" for n in names}
    lines = ["| dialer ↓ / listener → | " + " | ".join(label[n] for n in names)
             + " |", "|---" * (len(names) + 1) + "|"]
    for a in names:
        row = [cell_text(matrix["cells"].get(a, {}).get(b)) if a != b
               else "·" for b in names]
        lines.append(f"| {label[a]} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def svg(matrix, title):
    names = matrix["endpoints"]
    size, left, top = 64, 170, 150
    width = left + size * len(names) + 20
    height = top + size * len(names) + 40 + 22 * len(PATH_COLOURS)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" font-family="sans-serif" font-size="11">',
           f'<text x="10" y="20" font-size="14">{html.escape(title)}</text>',
           f'<text x="10" y="{top - 10}">dialer ↓ listener →</text>']
    for i, n in enumerate(names):
        kind = html.escape(matrix["kinds"][n])
        x = left + i * size + size / 2
        out.append(f'<text transform="translate({x},{top - 8}) rotate(-45)">'
                   f"{html.escape(n)} ({kind})</text>")
        out.append(f'<text x="10" y="{top + i * size + size / 2 + 4}">'
                   f"{html.escape(n)} ({kind})</text>")
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            x, y = left + j * size, top + i * size
            if a == b:
                colour, text = "#ffffff", "·"
            else:
                cell = matrix["cells"].get(a, {}).get(b)
                connected = bool(cell and cell["connected"])
                colour = PATH_COLOURS[cell["path"] if connected else None]
                text = f"{cell['ms']} ms" if connected else "no"
            out.append(f'<rect x="{x}" y="{y}" width="{size - 2}" '
                       f'height="{size - 2}" fill="{colour}"/>')
            out.append(f'<text x="{x + size / 2 - 1}" y="{y + size / 2 + 4}" '
                       f'text-anchor="middle">{html.escape(text)}</text>')
    y = top + size * len(names) + 24
    for path, colour in PATH_COLOURS.items():
        out.append(f'<rect x="10" y="{y - 11}" width="14" height="14" '
                   f'fill="{colour}"/>')
        out.append(f'<text x="30" y="{y}">'
                   f"{html.escape(path or 'not connected')}</text>")
        y += 22
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_all(prefix, matrix, title):
    """prefix.json, prefix.md, prefix.svg; the paths written."""
    write_json(prefix + ".json", matrix)
    with open(prefix + ".md", "w") as f:
        f.write(f"# {title}\n\n" + markdown(matrix))
    with open(prefix + ".svg", "w") as f:
        f.write(svg(matrix, title))
    return [prefix + ext for ext in (".json", ".md", ".svg")]
