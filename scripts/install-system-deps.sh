#!/usr/bin/env bash
# Debian packages the test suite needs, installed only where missing (as root, or through sudo).
set -euo pipefail

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v pdftotext >/dev/null 2>&1 || packages+=(poppler-utils)
command -v wkhtmltopdf >/dev/null 2>&1 || packages+=(wkhtmltopdf)
fc-list 2>/dev/null | grep -qi "DejaVu Sans" || packages+=(fonts-dejavu-core)
fc-list 2>/dev/null | grep -qi "Liberation" || packages+=(fonts-liberation2)
# Emoji in letters printed by the Typst backend (without a font for them, no PDF/A).
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || packages+=(fonts-noto-color-emoji)
# The mail intake tests start a private Dovecot (IMAP) of their own; /usr/sbin is not on every PATH.
[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1 || packages+=(dovecot-imapd)

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "Missing Debian packages: ${packages[*]}. Install them as root: apt-get install ${packages[*]}" >&2
  exit 1
fi

echo "Installing Debian packages: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# Installing dovecot-imapd starts a system IMAP server where services may start; the tests
# do not use it, so it is stopped and kept off.
if [[ " ${packages[*]} " == *" dovecot-imapd "* ]] && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
fi
