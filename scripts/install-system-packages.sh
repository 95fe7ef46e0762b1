#!/usr/bin/env bash
# System packages Jikji's tests and sample builder need (Debian). Installs only what is missing.
# fonts-nanum: Hangul TTF for Korean PDF fixtures and readable screenshots.
# chromium: the headless browser the UI tests drive through Playwright (browsers cannot be downloaded).
# postgresql: the tests start a throwaway server to run the SQL-dependent suites on PostgreSQL too.
# tesseract-ocr with its Korean and English data: OCR of scanned PDFs and images (JIKJI_INGEST__OCR);
# tesseract-ocr-osd: orientation detection for pages scanned sideways.
# slapd and ldap-utils: the LDAP tests start a throwaway OpenLDAP server (tests/support/slapd.py).
set -euo pipefail
packages=(fonts-nanum chromium postgresql tesseract-ocr tesseract-ocr-kor tesseract-ocr-eng tesseract-ocr-osd slapd ldap-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]} (run as root or: sudo apt-get install -y ${missing[*]})" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
