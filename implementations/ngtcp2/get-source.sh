#!/bin/sh
# Fetches a Debian source package through apt (deb-src lines from
# add-deb-src.sh), checks its files against the signed Sources index,
# unpacks the upstream tarball and applies Debian's own patches (quilt
# series, e.g. security fixes) in order.
# Usage: get-source.sh PACKAGE UPSTREAM_VERSION DESTDIR
# Leaves the patched tree in DESTDIR/PACKAGE-UPSTREAM_VERSION and prints the
# Debian source version it used to DESTDIR/PACKAGE.version.
set -eu

PKG="$1"
UPSTREAM="$2"
DEST="$3"
mkdir -p "$DEST"
cd "$DEST"

# The newest source version of that upstream release the archive offers.
VERSION=$(apt-cache showsrc "$PKG" | awk -v pkg="$PKG" '
    /^Package:/ { p = $2 } /^Version:/ && p == pkg { print $2 }' |
    grep -E "^([0-9]+:)?${UPSTREAM}-" | sort -V | tail -n1 || true)
if [ -z "$VERSION" ]; then
    echo "get-source: no source version of $PKG $UPSTREAM in the archive; it has:" >&2
    apt-cache showsrc "$PKG" | grep '^Version:' >&2 || true
    exit 1
fi
echo "get-source: $PKG $VERSION"

# Some .dsc files answer 404 on the archive while the tarballs come through;
# apt still checks every file it does fetch against the index. The .dsc is
# not needed: the files are checked here against the same signed index.
apt-get source --download-only "$PKG=$VERSION" || \
    echo "get-source: apt-get source reported an error (a missing .dsc is tolerated); checking what arrived"

# "sha256 size name" for every file of that version, from the Sources index.
apt-cache showsrc "$PKG" | awk -v pkg="$PKG" -v ver="$VERSION" '
    /^Package:/ { p = $2; v = ""; inside = 0; next }
    /^Version:/ { v = $2; next }
    /^Checksums-Sha256:/ { inside = (p == pkg && v == ver); next }
    /^[^ ]/ { inside = 0 }
    inside && /^ / { print $1 "  " $3 }' | sort -u > "$PKG.sha256"

ORIG=$(awk '{ print $2 }' "$PKG.sha256" | grep -E '\.orig\.tar\.[a-z0-9]+$' | head -n1)
DEBIAN_TAR=$(awk '{ print $2 }' "$PKG.sha256" | grep -E '\.debian\.tar\.[a-z0-9]+$' | head -n1 || true)
if [ -z "$ORIG" ]; then
    echo "get-source: the index names no .orig tarball for $PKG $VERSION" >&2
    exit 1
fi
for f in "$ORIG" $DEBIAN_TAR; do
    if [ ! -s "$f" ]; then
        echo "get-source: $f did not arrive" >&2
        exit 1
    fi
    grep "  $f\$" "$PKG.sha256" | sha256sum -c -
done

SRC="$PKG-$UPSTREAM"
rm -rf "$SRC" unpack
mkdir unpack
tar -xf "$ORIG" -C unpack
# The tarball's top directory is not always PACKAGE-VERSION (wolfSSL's is
# wolfssl-X-stable): take whatever single directory it holds.
TOP=$(find unpack -mindepth 1 -maxdepth 1 -type d | head -n1)
mv "$TOP" "$SRC"
rmdir unpack

if [ -n "$DEBIAN_TAR" ]; then
    tar -xf "$DEBIAN_TAR" -C "$SRC"
    if [ -r "$SRC/debian/patches/series" ]; then
        # Quilt series: one patch per line, '#' comments, optional -pN.
        grep -v -E '^[ \t]*(#|$)' "$SRC/debian/patches/series" | while read -r patch level; do
            echo "get-source: applying debian/patches/$patch"
            (cd "$SRC" && patch ${level:--p1} --forward --batch < "debian/patches/$patch") || exit 1
        done
    fi
fi
echo "$VERSION" > "$PKG.version"
echo "get-source: $DEST/$SRC ready ($PKG $VERSION)"
