#!/usr/bin/env bash
# Points real third-party Yandex Disk clients at cmd/yandexemu and prints a results table.
#
# The clients hard-code the service's host names, so the script maps them to 127.0.0.1 in
# /etc/hosts (the line is removed again on exit) and puts a small TLS front on 127.0.0.1:443
# with a throwaway CA. It therefore needs root and a free port 443. See README.md.
#
# Environment:
#   RCLONE_BINS   rclone binaries to test, space-separated (default: "rclone"; empty: none)
#   MANY          files in the paging folder; rclone lists 1000 per page (default: 1050)
#   FAULT_RATE    if set (e.g. 0.05), also run rclone copy+check against -fault-rate FAULT_RATE
#   RCLONE_FSTESTS  an rclone version (e.g. v1.75.1): also run that rclone's own integration
#                 suites from the Go module proxy
#   RCLONE_FSTESTS_PKGS  which of them (default: "backend/yandex fs/operations fs/sync"; rclone's
#                 test_all also runs "cmd/bisync vfs": about 20 more minutes, mostly bisync)
#   SKIP_NODE     if set, skip the ya-disk npm package
#   KEEP          if set, keep the work directory (logs of every step) instead of deleting it
#
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../../.." && pwd)
RCLONE_BINS=${RCLONE_BINS-rclone}
MANY=${MANY:-1050}
TOKEN=compat-token
HOSTS_MARK='# yasyncd-compat'
NAMES='cloud-api.yandex.com cloud-api.yandex.net oauth.yandex.com oauth.yandex.ru'

die() { echo "compat: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (binds 127.0.0.1:443, edits /etc/hosts)"
for t in go openssl curl python3; do command -v "$t" >/dev/null || die "$t not found"; done
if grep -q "$HOSTS_MARK" /etc/hosts; then die "/etc/hosts already has a '$HOSTS_MARK' line: another run?"; fi

work=$(mktemp -d /tmp/yasyncd-compat.XXXXXX)
results=$work/results.tsv
: >"$results"
emu_pid=
front_pid=

restore_hosts() {
	if grep -q "$HOSTS_MARK" /etc/hosts; then
		# Rewrite in place: /etc/hosts is often a bind mount that cannot be replaced by rename.
		grep -v "$HOSTS_MARK" /etc/hosts >"$work/hosts.clean"
		cat "$work/hosts.clean" >/etc/hosts
	fi
}
stop_lab() {
	[ -n "$front_pid" ] && kill "$front_pid" 2>/dev/null && wait "$front_pid" 2>/dev/null
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
	front_pid= emu_pid=
}
cleanup() {
	stop_lab
	restore_hosts
	if [ -n "${KEEP:-}" ]; then echo "compat: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- lab: emulator, CA, TLS front, /etc/hosts -------------------------------------------------

echo "compat: building cmd/yandexemu" >&2
(cd "$repo" && go build -o "$work/yandexemu" ./cmd/yandexemu) || die "go build ./cmd/yandexemu failed"

mkdir -p "$work/pki" "$work/front" "$work/logs"
(
	cd "$work/pki" &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=yasyncd compat CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
			-keyout ca.key -out ca.pem &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=cloud-api.yandex.com" -keyout leaf.key -out leaf.csr &&
		{
			printf 'subjectAltName='
			printf 'DNS:%s,' $NAMES | sed 's/,$//'
			printf '\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
		} >ext.cnf &&
		openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out leaf.pem
) >"$work/logs/pki.log" 2>&1 || die "openssl failed, see $work/logs/pki.log"
ca=$work/pki/ca.pem

# The TLS front keeps the Host header, so the emulator sees the name the client used.
cat >"$work/front/main.go" <<'EOF'
// Command tlsfront terminates TLS for the Yandex host names and forwards every request,
// Host header unchanged, to the emulator's plain-HTTP origin.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:443", "TLS listen address")
	target := flag.String("target", "", "emulator origin, e.g. http://127.0.0.1:41234")
	cert := flag.String("cert", "", "certificate PEM")
	key := flag.String("key", "", "key PEM")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		log.Fatalf("tlsfront: bad -target %q", *target)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		FlushInterval: -1,
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("tlsfront: %s %s %s", r.Method, r.Host, r.URL.Path)
		rp.ServeHTTP(w, r)
	})
	log.Fatal(http.ListenAndServeTLS(*listen, *cert, *key, h))
}
EOF
printf 'module tlsfront\n\ngo 1.22\n' >"$work/front/go.mod"
(cd "$work/front" && GOFLAGS= go build -o "$work/tlsfront" .) || die "building the TLS front failed"

# start_lab starts an emulator with the given extra flags and the TLS front before it.
start_lab() {
	local tag=$1
	shift
	: >"$work/emu-$tag.out"
	"$work/yandexemu" -token "$TOKEN" -data "$work/data-$tag" "$@" >"$work/emu-$tag.out" 2>"$work/logs/emu-$tag.log" &
	emu_pid=$!
	mkdir -p "$work/data-$tag"
	local origin= i
	for i in $(seq 100); do
		origin=$(head -n1 "$work/emu-$tag.out")
		[ -n "$origin" ] && break
		sleep 0.1
	done
	[ -n "$origin" ] || die "yandexemu printed no origin, see $work/logs/emu-$tag.log"
	"$work/tlsfront" -target "$origin" -cert "$work/pki/leaf.pem" -key "$work/pki/leaf.key" 2>"$work/logs/front-$tag.log" &
	front_pid=$!
	for i in $(seq 100); do
		curl -s -o /dev/null --cacert "$ca" -H "Authorization: OAuth $TOKEN" https://cloud-api.yandex.com/v1/disk && break
		sleep 0.1
	done
	curl -sf -o /dev/null --cacert "$ca" -H "Authorization: OAuth $TOKEN" https://cloud-api.yandex.com/v1/disk ||
		die "the TLS front does not answer, see $work/logs/front-$tag.log"
	echo "compat: emulator $tag at $origin behind https://cloud-api.yandex.com" >&2
}

echo "127.0.0.1 $NAMES $HOSTS_MARK" >>/etc/hosts

# --- result helpers ---------------------------------------------------------------------------

# check CLIENT VERSION OPERATION SCRIPT runs SCRIPT with bash -o pipefail; its exit status
# decides PASS or FAIL and its last output line becomes the detail. The full output stays in
# logs/. Scripts use grep without -q after a pipe: an early exit would make the writer fail.
n=0
check() {
	local client=$1 version=$2 op=$3 script=$4 log detail
	n=$((n + 1))
	log=$work/logs/$(printf '%03d' $n).log
	if bash -o pipefail -c "$script" >"$log" 2>&1; then
		detail=$(grep -v '^\s*$' "$log" | tail -n1 | cut -c1-160)
		printf 'PASS\t%s\t%s\t%s\t%s\n' "$client" "$version" "$op" "$detail" >>"$results"
	else
		detail=$(grep -v '^\s*$' "$log" | tail -n1 | cut -c1-160)
		printf 'FAIL\t%s\t%s\t%s\t%s (log %s)\n' "$client" "$version" "$op" "$detail" "$(basename "$log")" >>"$results"
	fi
	tail -n1 "$results" | cut -f1-4 >&2
}

# --- test data --------------------------------------------------------------------------------

local_tree=$work/local/tree
mkdir -p "$local_tree/sub" "$work/local/many"
for i in $(seq -w 1 25); do echo "file $i $RANDOM" >"$local_tree/f$i.txt"; done
for i in $(seq -w 1 23); do echo "sub $i" >"$local_tree/sub/s$i.txt"; done
for i in 1 2 3; do mkdir -p "$local_tree/d$i" && echo "x$i" >"$local_tree/d$i/x.txt"; done
head -c 5242880 /dev/urandom >"$local_tree/big.bin"
: >"$local_tree/empty.txt"
echo unicode >"$local_tree/Привет мир.txt"
echo special >"$local_tree/a+b &c #d %e.txt"
echo question >"$local_tree/q?.txt"
touch -d '2020-01-02 03:04:05' "$local_tree/f01.txt"
for i in $(seq -w 1 "$MANY"); do echo "$i" >"$work/local/many/m$i"; done
echo "changed content $RANDOM" >"$work/local/changed.txt"
export work local_tree ca TOKEN MANY

cat >"$work/rclone.conf" <<EOF
[emu]
type = yandex
token = {"access_token":"$TOKEN","token_type":"OAuth","refresh_token":"unused","expiry":"2099-01-01T00:00:00Z"}
EOF

# --- rclone -----------------------------------------------------------------------------------

rclone_suite() {
	local bin=$1 ver
	ver=$("$bin" version 2>/dev/null | head -n1 | awk '{print $2}')
	[ -n "$ver" ] || {
		printf 'FAIL\trclone\t?\trun %s\tnot runnable\n' "$bin" >>"$results"
		return
	}
	# Each rclone gets its own config copy (rclone rewrites it) and its own remote folder.
	cp "$work/rclone.conf" "$work/rclone-$ver.conf"
	export R="$bin --config $work/rclone-$ver.conf --ca-cert $ca --retries 1 --low-level-retries 5"
	export D="emu:rclone-$ver" V=$ver
	local c=rclone
	check $c "$ver" "about (quota)" '$R about emu: | tee /dev/stderr | grep "^Total:"'
	check $c "$ver" "mkdir" '$R mkdir $D/empty && $R lsf $D | grep -x "empty/" && echo created'
	check $c "$ver" "upload tree (56 files: 5 MiB, empty, unicode, + & # % ?)" '$R copy $work/local/tree $D/tree && echo ok'
	check $c "$ver" "lsjson folder" \
		'got=$($R lsjson $D/tree | grep -c "\"Path\""); want=$(ls -A $local_tree | wc -l); echo "entries $got want $want"; [ "$got" = "$want" ]'
	check $c "$ver" "lsf -R equals local tree" \
		'diff <($R lsf -R $D/tree | sort) <(cd $local_tree && find . -mindepth 1 \( -type d -printf "%P/\n" -o -type f -printf "%P\n" \) | sort) && echo identical'
	check $c "$ver" "upload+list $MANY files in one folder (pages of 1000)" \
		'$R copy $work/local/many $D/many --transfers 16 && got=$($R lsf $D/many | wc -l) && echo "listed $got of $MANY" && [ "$got" = "$MANY" ]'
	check $c "$ver" "check (md5)" '$R check $work/local/tree $D/tree 2>&1 | tail -n2'
	check $c "$ver" "md5sum equals local md5sum" \
		'diff <($R md5sum $D/tree | sort -k2) <(cd $local_tree && find . -type f -printf "%P\n" | sort | while IFS= read -r f; do md5sum "$f"; done | sort -k2) && echo identical'
	check $c "$ver" "download tree, diff -r" 'rm -rf $work/down-$V && $R copy $D/tree $work/down-$V && diff -r $local_tree $work/down-$V && echo identical'
	check $c "$ver" "ranged read (cat --offset --count)" \
		'a=$($R cat --offset 1000 --count 100 $D/tree/big.bin | md5sum); b=$(tail -c +1001 $local_tree/big.bin | head -c 100 | md5sum); echo "$a"; [ "$a" = "$b" ]'
	check $c "$ver" "modtime kept (custom_properties)" '$R lsl $D/tree/f01.txt | tee /dev/stderr | grep "2020-01-02 03:04:05"'
	check $c "$ver" "upload over existing file" \
		'$R copyto $work/local/changed.txt $D/tree/f05.txt && cmp <($R cat $D/tree/f05.txt) $work/local/changed.txt && echo replaced'
	check $c "$ver" "touch (set modtime via PATCH)" \
		'$R touch -t 2021-05-06T07:08:09 $D/tree/f06.txt && $R lsl $D/tree/f06.txt | tee /dev/stderr | grep "2021-05-06 07:08:09"'
	check $c "$ver" "rename file (server-side move)" \
		'$R moveto -v $D/tree/f02.txt $D/tree/f02-renamed.txt 2>&1 | grep "Moved (server-side)" && l=$($R lsf $D/tree) && grep -qx f02-renamed.txt <<<"$l" && ! grep -qx f02.txt <<<"$l" && echo moved'
	check $c "$ver" "copy file (server-side copy)" \
		'$R copyto -v $D/tree/f03.txt $D/tree/f03-copy.txt 2>&1 | grep "server-side copy" && cmp <($R cat $D/tree/f03-copy.txt) $local_tree/f03.txt && echo copied'
	check $c "$ver" "move non-empty folder (server-side DirMove, 202)" \
		'$R move -vv $D/tree/sub $D/moved-sub 2>&1 | grep "server-side directory move" && got=$($R lsf $D/moved-sub | wc -l) && echo "moved $got files" && [ "$got" = 23 ] && ! $R lsf $D/tree | grep -x "sub/"'
	check $c "$ver" "copy folder (server-side copies)" \
		'$R copy -v $D/tree/d1 $D/d1-copy 2>&1 | grep "server-side copy" && cmp <($R cat $D/d1-copy/x.txt) $local_tree/d1/x.txt && echo copied'
	check $c "$ver" "delete file" '$R deletefile $D/tree/f04.txt && ! $R lsf $D/tree | grep -x f04.txt && echo deleted'
	check $c "$ver" "delete file permanently (--yandex-hard-delete)" \
		'trash() { curl -s --cacert $ca -H "Authorization: OAuth $TOKEN" "https://cloud-api.yandex.com/v1/disk/trash/resources?path=trash:/&fields=_embedded.total"; }
		a=$(trash) && $R --yandex-hard-delete deletefile $D/tree/f08.txt && b=$(trash) && ! $R lsf $D/tree | grep -x f08.txt && echo "trash before $a after $b" && [ "$a" = "$b" ]'
	check $c "$ver" "purge non-empty folder (202)" '$R purge $D/moved-sub && ! $R lsf $D | grep -x "moved-sub/" && echo purged'
	check $c "$ver" "rmdir empty folder" '$R rmdir $D/empty && ! $R lsf $D | grep -x "empty/" && echo removed'
	check $c "$ver" "sync with a local deletion, then check" \
		'rm -rf $work/sync-$V && cp -a $local_tree $work/sync-$V && rm -rf $work/sync-$V/f07.txt $work/sync-$V/sub && cp $work/local/changed.txt $work/sync-$V/f05.txt && mv $work/sync-$V/f02.txt $work/sync-$V/f02-renamed.txt && rm $work/sync-$V/f04.txt && $R sync $work/sync-$V $D/tree && $R check $work/sync-$V $D/tree 2>&1 | tail -n2'
	check $c "$ver" "cleanup (empty trash)" \
		'$R cleanup emu: && t=$(curl -s --cacert $ca -H "Authorization: OAuth $TOKEN" "https://cloud-api.yandex.com/v1/disk/trash/resources?path=trash:/&fields=_embedded.total") && echo "$t" && [ "$t" = "{\"_embedded\":{\"total\":0}}" ]'
	check $c "$ver" "purge test root" '$R purge $D && ! $R lsf emu: | grep -x "rclone-$V/" && echo purged'
	# An expired access token in the config makes rclone refresh it at oauth.yandex.com/token
	# (golang.org/x/oauth2) before its first API call. The refresh token is bound to the
	# client that got it, so the config names that client.
	check $c "$ver" "OAuth refresh of an expired token, then the same command goes on" '
		set -e
		o=https://oauth.yandex.com
		dc=$(curl -sf --cacert $ca -d "client_id=compat-client&device_id=compat-device-$V" $o/device/code | python3 -c "import json,sys; print(json.load(sys.stdin)[\"device_code\"])")
		for i in 1 2 3; do
			tok=$(curl -s --cacert $ca -d "grant_type=device_code&code=$dc&client_id=compat-client&client_secret=s" $o/token)
			grep -q access_token <<<"$tok" && break
		done
		refresh=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])[\"refresh_token\"])" "$tok")
		printf "[emu]\ntype = yandex\nclient_id = compat-client\nclient_secret = s\ntoken = {\"access_token\":\"stale\",\"token_type\":\"OAuth\",\"refresh_token\":\"%s\",\"expiry\":\"2001-01-01T00:00:00Z\"}\n" "$refresh" >$work/rclone-$V-oauth.conf
		set +e
		${R/rclone-$V.conf/rclone-$V-oauth.conf} about emu: 2>&1 | grep -E "^Total:|Failed"
		st=${PIPESTATUS[0]}
		grep -q "\"access_token\":\"stale\"" $work/rclone-$V-oauth.conf && echo "no new access token stored"
		echo "stored $(grep -o "\"token_type\":\"[^\"]*\"" $work/rclone-$V-oauth.conf); about exit $st"
		exit $st'
	check $c "$ver" "next command with the refreshed token" \
		'${R/rclone-$V.conf/rclone-$V-oauth.conf} about emu: 2>&1 | grep -E "^Total:|Failed"; st=${PIPESTATUS[0]}; echo "stored $(grep -o "\"token_type\":\"[^\"]*\"" $work/rclone-$V-oauth.conf); about exit $st"; exit $st'
}

start_lab main -auto-approve
for bin in $RCLONE_BINS; do rclone_suite "$bin"; done

# --- ya-disk (npm) ----------------------------------------------------------------------------

if [ -z "${SKIP_NODE:-}" ]; then
	mkdir -p "$work/node"
	if (cd "$work/node" && npm init -y && npm install --no-audit --no-fund ya-disk@4.0.1) >"$work/logs/npm.log" 2>&1; then
		cat >"$work/node/yadisk-check.js" <<'EOF'
// Exercises the ya-disk npm package against whatever answers at https://cloud-api.yandex.net.
// Prints one line per check: "<PASS|FAIL>\tya-disk\t<version>\t<operation>\t<detail>"; exit code = number of FAILs.
'use strict';
const crypto = require('crypto');
const http = require('http');
const https = require('https');
const { URL, parse: urlParse } = require('url');
const yd = require('ya-disk');
const pkg = require('ya-disk/package.json');

const token = process.env.YD_TOKEN;
const root = process.env.YD_ROOT || 'disk:/yadisk-compat';
let fails = 0;
const report = (ok, op, detail) => {
  if (!ok) fails++;
  console.log(`${ok ? 'PASS' : 'FAIL'}\tya-disk\t${pkg.version}\t${op}\t${String(detail).replace(/\s+/g, ' ')}`);
};
const md5 = (b) => crypto.createHash('md5').update(b).digest('hex');
const errText = (e) => `${e.name}: ${e.message}`;

// send does one request to an href of the API (upload or download target) with the module its
// scheme needs, following redirects like the follow-redirects package the README recommends.
function send(method, href, body, hops = 0) {
  return new Promise((resolve, reject) => {
    const u = new URL(href);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if ([301, 302, 303, 307, 308].includes(res.statusCode) && hops < 5) {
          resolve(send(method === 'HEAD' ? 'HEAD' : 'GET', new URL(res.headers.location, u).toString(), null, hops + 1));
          return;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// waitOp polls an operation link (202 answers) until it leaves in-progress.
async function waitOp(link) {
  const id = new URL(link.href).pathname.split('/').pop();
  for (let i = 0; i < 100; i++) {
    const { status } = await yd.operations(token, id);
    if (status !== 'in-progress') return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'timeout';
}

async function upload(path, data, overwrite = false) {
  const link = await yd.upload.link(token, path, overwrite);
  const res = await send(link.method, link.href, data);
  return { link, res };
}

async function step(op, fn) {
  try {
    const [ok, detail] = await fn();
    report(ok, op, detail);
  } catch (e) {
    report(false, op, errText(e));
  }
}

(async () => {
  const small = {};
  for (let i = 1; i <= 25; i++) small[`f${String(i).padStart(2, '0')}.txt`] = Buffer.from(`small file ${i} ${Date.now()}\n`);
  const big = crypto.randomBytes(3 * 1024 * 1024);

  await step('about (GET /v1/disk)', async () => {
    const d = await yd.info(token);
    return [d.total_space > 0 && typeof d.used_space === 'number', `total_space=${d.total_space} used_space=${d.used_space}`];
  });
  await step('mkdir', async () => {
    await yd.resources.create(token, root);
    await yd.resources.create(token, `${root}/many`);
    const m = await yd.meta.get(token, `${root}/many`);
    return [m.type === 'dir', `type=${m.type}`];
  });
  await step('mkdir existing → 409', async () => {
    try { await yd.resources.create(token, root); return [false, 'no error']; }
    catch (e) { return [e.name === 'DiskPathPointsToExistentDirectoryError', errText(e)]; }
  });
  await step('upload 25 small files (link + PUT)', async () => {
    const codes = [];
    for (const [n, b] of Object.entries(small)) codes.push((await upload(`${root}/many/${n}`, b)).res.status);
    return [codes.every((c) => c === 201), `PUT statuses ${[...new Set(codes)].join(',')}`];
  });
  await step('upload 3 MiB file + operation_id → success', async () => {
    const { link, res } = await upload(`${root}/big.bin`, big);
    const op = await yd.operations(token, link.operation_id);
    return [res.status === 201 && op.status === 'success', `PUT ${res.status}, operation ${op.status}`];
  });
  await step('upload exactly as the ya-disk README shows (https.request on href)', async () => {
    const link = await yd.upload.link(token, `${root}/readme-way.txt`, true);
    const res = await new Promise((resolve, reject) => {
      try {
        const req = https.request({ ...urlParse(link.href), method: link.method }, resolve);
        req.on('error', reject);
        req.end('readme');
      } catch (e) { reject(e); }
    });
    res.resume();
    return [res.statusCode === 201, `PUT ${res.statusCode}`];
  });
  await step('upload existing without overwrite → 409', async () => {
    try { await yd.upload.link(token, `${root}/many/f01.txt`); return [false, 'no error']; }
    catch (e) { return [e.name === 'DiskResourceAlreadyExistsError', errText(e)]; }
  });
  await step('upload overwrite=true', async () => {
    small['f01.txt'] = Buffer.from('replaced\n');
    const { res } = await upload(`${root}/many/f01.txt`, small['f01.txt'], true);
    const m = await yd.meta.get(token, `${root}/many/f01.txt`);
    return [res.status === 201 && m.md5 === md5(small['f01.txt']), `PUT ${res.status}, md5 ${m.md5 === md5(small['f01.txt']) ? 'matches' : 'differs'}`];
  });
  await step('list folder, default page (limit 20)', async () => {
    const m = await yd.meta.get(token, `${root}/many`);
    const e = m._embedded;
    return [e.items.length === 20 && e.total === 25 && e.limit === 20, `items=${e.items.length} total=${e.total} limit=${e.limit}`];
  });
  await step('list folder paged (limit 10, offset 0/10/20)', async () => {
    const names = [];
    for (let off = 0; ; off += 10) {
      const m = await yd.meta.get(token, `${root}/many`, { limit: 10, offset: off, sort: 'name' });
      names.push(...m._embedded.items.map((i) => i.name));
      if (off + 10 >= m._embedded.total) break;
    }
    const want = Object.keys(small).sort();
    return [JSON.stringify(names) === JSON.stringify(want), `${names.length} names, sorted ${JSON.stringify(names) === JSON.stringify(want)}`];
  });
  await step('list with fields=_embedded.items.name,_embedded.total', async () => {
    const m = await yd.meta.get(token, `${root}/many`, { fields: '_embedded.items.name,_embedded.total', limit: 5 });
    const keys = Object.keys(m).join(',');
    const ik = Object.keys(m._embedded.items[0]).join(',');
    return [keys === '_embedded' && ik === 'name' && m._embedded.total === 25, `top keys [${keys}] item keys [${ik}] total=${m._embedded.total}`];
  });
  await step('flat file list (resources/files) paged', async () => {
    const paths = new Set();
    let pages = 0;
    for (let off = 0; ; off += 20) {
      const r = await yd.list(token, { limit: 20, offset: off });
      pages++;
      r.items.forEach((i) => paths.add(i.path));
      if (r.items.length < 20) break;
    }
    const want = [...Object.keys(small).map((n) => `${root}/many/${n}`), `${root}/big.bin`];
    const missing = want.filter((p) => !paths.has(p));
    return [missing.length === 0, `${paths.size} files in ${pages} pages, missing ${missing.length}`];
  });
  await step('recent (last-uploaded)', async () => {
    const r = await yd.recent(token, { limit: 5 });
    return [r.items.length === 5, `items=${r.items.length}`];
  });
  await step('download small + 3 MiB, md5 compare', async () => {
    const out = [];
    for (const [p, b] of [[`${root}/many/f02.txt`, small['f02.txt']], [`${root}/big.bin`, big]]) {
      const { href } = await yd.download.link(token, p);
      const r = await send('GET', href);
      out.push(r.status === 200 && md5(r.body) === md5(b));
    }
    return [out.every(Boolean), out.join(',')];
  });
  await step('download exactly as the ya-disk README shows (https.get on href)', async () => {
    const { href } = await yd.download.link(token, `${root}/many/f02.txt`);
    const get = (u) => new Promise((resolve, reject) => {
      try { https.get(u, resolve).on('error', reject); }
      catch (e) { reject(e); }
    });
    // The README gets https from follow-redirects, which follows the 302 to the storage node.
    let res = await get(href);
    const first = res.statusCode;
    if ([301, 302, 303, 307, 308].includes(first)) {
      res.resume();
      res = await send('GET', new URL(res.headers.location, href).toString());
    } else {
      const chunks = [];
      for await (const c of res) chunks.push(c);
      res = { status: res.statusCode, body: Buffer.concat(chunks) };
    }
    const ok = res.status === 200 && md5(res.body) === md5(small['f02.txt']);
    return [ok, `GET ${first}${first === res.status ? '' : ` then ${res.status}`}, md5 ${ok ? 'matches' : 'differs'}`];
  });
  await step('custom properties (PATCH, chunked JSON body, no Content-Type)', async () => {
    const r = await yd.meta.add(token, `${root}/many/f03.txt`, { owner: 'compat', n: 42 });
    return [r.custom_properties && r.custom_properties.owner === 'compat' && r.custom_properties.n === 42, JSON.stringify(r.custom_properties)];
  });
  await step('copy file (fields= empty)', async () => {
    const r = await yd.resources.copy(token, `${root}/many/f03.txt`, `${root}/f03-copy.txt`);
    const m = await yd.meta.get(token, `${root}/f03-copy.txt`);
    return [r.status === 201 && m.md5 === md5(small['f03.txt']), `status ${r.status}, md5 ${m.md5 === md5(small['f03.txt']) ? 'kept' : 'differs'}`];
  });
  await step('copy non-empty folder (202 + operation)', async () => {
    const r = await yd.resources.copy(token, `${root}/many`, `${root}/many-copy`);
    const st = r.status === 202 ? await waitOp(r.data) : 'n/a';
    const m = await yd.meta.get(token, `${root}/many-copy`, { limit: 0 });
    return [(r.status === 201 || st === 'success') && m._embedded.total === 25, `status ${r.status}, operation ${st}, total ${m._embedded.total}`];
  });
  await step('move/rename file', async () => {
    const before = await yd.meta.get(token, `${root}/f03-copy.txt`);
    const r = await yd.resources.move(token, `${root}/f03-copy.txt`, `${root}/f03-renamed.txt`);
    const m = await yd.meta.get(token, `${root}/f03-renamed.txt`);
    return [r.status === 201 && m.resource_id === before.resource_id, `status ${r.status}, resource_id ${m.resource_id === before.resource_id ? 'kept' : 'changed'}`];
  });
  await step('move non-empty folder (202 + operation)', async () => {
    const r = await yd.resources.move(token, `${root}/many-copy`, `${root}/many-moved`);
    const st = r.status === 202 ? await waitOp(r.data) : 'n/a';
    const m = await yd.meta.get(token, `${root}/many-moved`, { limit: 0 });
    return [(r.status === 201 || st === 'success') && m._embedded.total === 25, `status ${r.status}, operation ${st}, total ${m._embedded.total}`];
  });
  await step('delete file (to trash)', async () => {
    const r = await yd.resources.remove(token, `${root}/f03-renamed.txt`);
    try { await yd.meta.get(token, `${root}/f03-renamed.txt`); return [false, 'still there']; }
    catch (e) { return [r.status === 204 && e.name === 'DiskNotFoundError', `status ${r.status}, then ${e.name}`]; }
  });
  await step('delete non-empty folder permanently (202 + operation)', async () => {
    const r = await yd.resources.remove(token, `${root}/many-moved`, true);
    const st = r.status === 202 ? await waitOp(r.data) : 'n/a';
    try { await yd.meta.get(token, `${root}/many-moved`); return [false, 'still there']; }
    catch (e) { return [(r.status === 204 || st === 'success') && e.name === 'DiskNotFoundError', `status ${r.status}, operation ${st}, then ${e.name}`]; }
  });
  await step('missing path → DiskNotFoundError', async () => {
    try { await yd.meta.get(token, `${root}/nope`); return [false, 'no error']; }
    catch (e) { return [e.name === 'DiskNotFoundError', errText(e)]; }
  });
  await step('unknown operation → DiskOperationNotFoundError', async () => {
    try { await yd.operations(token, '0000'); return [false, 'no error']; }
    catch (e) { return [e.name === 'DiskOperationNotFoundError', errText(e)]; }
  });
  await step('bad token → UnauthorizedError', async () => {
    try { await yd.info('not-a-token'); return [false, 'no error']; }
    catch (e) { return [e.name === 'UnauthorizedError', errText(e)]; }
  });
  await step('cleanup: delete test root permanently', async () => {
    const r = await yd.resources.remove(token, root, true);
    const st = r.status === 202 ? await waitOp(r.data) : 'n/a';
    return [r.status === 204 || st === 'success', `status ${r.status}, operation ${st}`];
  });
  process.exit(fails);
})();
EOF
		(cd "$work/node" && NODE_EXTRA_CA_CERTS=$ca YD_TOKEN=$TOKEN node yadisk-check.js) >>"$results" 2>"$work/logs/ya-disk.log"
		grep -P '^(PASS|FAIL)\tya-disk' "$results" | cut -f1-4 >&2
	else
		printf 'FAIL\tya-disk\t4.0.1\tnpm install\tsee logs/npm.log\n' >>"$results"
	fi
fi

# --- rclone's own integration suites ---------------------------------------------------------

# rclone's test_all runs these packages against the real service with -remote TestYandex: and
# ignores none of their tests for Yandex (fstest/test_all/config.yaml), so each failure here is
# a difference between the emulator and the service.
if [ -n "${RCLONE_FSTESTS:-}" ]; then
	src=$(cd "$work" && GOFLAGS= go mod download -json "github.com/rclone/rclone@$RCLONE_FSTESTS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') ||
		die "go mod download github.com/rclone/rclone@$RCLONE_FSTESTS failed"
	cp -r "$src" "$work/rclone-src" && chmod -R u+w "$work/rclone-src"
	printf '[TestYandex]\ntype = yandex\ntoken = {"access_token":"%s","token_type":"OAuth","refresh_token":"unused","expiry":"2099-01-01T00:00:00Z"}\n' "$TOKEN" >"$work/fstests.conf"
	for pkg in ${RCLONE_FSTESTS_PKGS:-backend/yandex fs/operations fs/sync}; do
		log=$work/logs/fstests-${pkg//\//-}.log
		echo "compat: go test ./$pkg -remote TestYandex: (rclone $RCLONE_FSTESTS)" >&2
		(cd "$work/rclone-src" && RCLONE_CONFIG=$work/fstests.conf SSL_CERT_FILE=$ca GOFLAGS= \
			go test "./$pkg/" -remote TestYandex: -v -timeout 25m) >"$log" 2>&1
		np=$(grep -cE '^\s*--- PASS' "$log") ns=$(grep -cE '^\s*--- SKIP' "$log")
		# A failing parent test is listed too; report only the leaves.
		grep -E '^\s*--- FAIL' "$log" | awk '{print $3}' | sort >"$work/fails"
		leaves=$(awk '{a[NR]=$0; n=NR} END{for(i=1;i<=n;i++){leaf=1; for(j=1;j<=n;j++) if(index(a[j], a[i] "/")==1) leaf=0; if(leaf) print a[i]}}' "$work/fails")
		nf=$(echo $leaves | wc -w)
		if [ "$nf" = 0 ] && grep -q '^ok' "$log"; then
			printf 'PASS\trclone fstests\t%s\t%s\t%s passed, %s skipped\n' "$RCLONE_FSTESTS" "$pkg" "$np" "$ns" >>"$results"
		else
			printf 'FAIL\trclone fstests\t%s\t%s\t%s passed, %s failed, %s skipped; failing: %s (log %s)\n' \
				"$RCLONE_FSTESTS" "$pkg" "$np" "$nf" "$ns" "$(echo $leaves)" "$(basename "$log")" >>"$results"
		fi
		tail -n1 "$results" | cut -f1-4 >&2
	done
fi

# --- rclone under injected faults -------------------------------------------------------------

if [ -n "${FAULT_RATE:-}" ]; then
	stop_lab
	start_lab faults -fault-rate "$FAULT_RATE" -seed 1
	for bin in $RCLONE_BINS; do
		ver=$("$bin" version | head -n1 | awk '{print $2}')
		export R="$bin --config $work/rclone-$ver.conf --ca-cert $ca --retries 3 --low-level-retries 10" D="emu:faults-$ver" V=$ver
		check rclone "$ver" "copy+check+download under -fault-rate $FAULT_RATE" \
			'$R copy $local_tree $D && $R check $local_tree $D && rm -rf $work/fdown-$V && $R copy $D $work/fdown-$V && diff -r $local_tree $work/fdown-$V && echo identical'
	done
fi

# --- table ------------------------------------------------------------------------------------

echo
echo "| client | version | operation | result | detail |"
echo "|---|---|---|---|---|"
awk -F'\t' '{ d=$5; gsub(/\|/, "\\|", d); printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, $1, d }' "$results"
pass=$(grep -c '^PASS' "$results")
fail=$(grep -c '^FAIL' "$results")
echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
