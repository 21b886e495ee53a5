#!/bin/sh
# Enables source packages (deb-src) from the very archives the image's own
# sources list names, in one-line or deb822 format, so that `apt-get source`
# works and no mirror host is ever written into the recipe.
# Usage: add-deb-src.sh [APT_DIR]   (default: /etc/apt)
set -eu

APT_DIR="${1:-/etc/apt}"
OUT_LIST="$APT_DIR/sources.list.d/interop-deb-src.list"
OUT_822="$APT_DIR/sources.list.d/interop-deb-src.sources"
mkdir -p "$APT_DIR/sources.list.d"
rm -f "$OUT_LIST" "$OUT_822"

# One-line format: every "deb [options] URI SUITE COMPONENT..." becomes the
# same line with "deb-src".
for f in "$APT_DIR/sources.list" "$APT_DIR"/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    sed -n 's/^[ \t]*deb[ \t]\{1,\}/deb-src /p' "$f" >> "$OUT_LIST"
done

# deb822 format: every stanza whose Types has "deb" is repeated with
# "Types: deb-src" (same URIs, Suites, Components, Signed-By, ...), unless
# it already lists deb-src.
for f in "$APT_DIR"/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    [ "$f" = "$OUT_822" ] && continue
    awk '
        function flush() {
            if (n > 0 && types ~ /(^| )deb( |$)/ && types !~ /(^| )deb-src( |$)/) {
                for (k = 1; k <= n; k++) print (k == tline ? "Types: deb-src" : line[k])
                print ""
            }
            n = 0; types = ""; tline = 0
        }
        /^[ \t]*$/ { flush(); next }
        /^#/ { next }
        {
            line[++n] = $0
            if ($0 ~ /^Types:/) { types = $0; sub(/^Types:[ \t]*/, "", types); tline = n }
        }
        END { flush() }' "$f" >> "$OUT_822"
done

# apt warns about duplicate entries; keep one of each line.
if [ -s "$OUT_LIST" ]; then
    awk '!seen[$0]++' "$OUT_LIST" > "$OUT_LIST.tmp" && mv "$OUT_LIST.tmp" "$OUT_LIST"
else
    rm -f "$OUT_LIST"
fi
[ -s "$OUT_822" ] || rm -f "$OUT_822"

if [ ! -e "$OUT_LIST" ] && [ ! -e "$OUT_822" ]; then
    echo "add-deb-src: no 'deb' source in $APT_DIR to derive a deb-src line from" >&2
    exit 1
fi
for f in "$OUT_LIST" "$OUT_822"; do
    [ -e "$f" ] || continue
    echo "add-deb-src: wrote $f:"
    cat "$f"
done
