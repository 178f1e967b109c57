"""Drives the load test of scripts/load-test/run: starts the runner, signs in, uploads the file, runs wrk twice
(baseline, then under the import) and writes target/load-test-report.json."""

import http.cookiejar, json, os, platform, shutil, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

SECONDS_UNDER_LOAD, ROWS = int(sys.argv[1]), int(sys.argv[2])
CLIENTS, BASELINE_SECONDS = 100, 15
# The date the runner's rules use (`mavis serve --today`), so the generated children stay in years 7 to 11.
TODAY = "2026-01-15"
HERE = os.path.dirname(os.path.abspath(__file__))
MAVIS = os.path.abspath("target/release/mavis")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nhs_numbers():
    n = 0
    while True:
        body = f"{500_000_000 + n:09d}"
        n += 1
        check = 11 - sum(int(d) * w for d, w in zip(body, range(10, 1, -1))) % 11
        if check == 10:
            continue
        yield body + ("0" if check == 11 else str(check))


def child_records(path, rows):
    """Valid rows of the child-records format at Waterloo Road (141001): born 2010 to 2013, years 7 to 11 on TODAY."""
    numbers = nhs_numbers()
    with open(path, "w") as f:
        f.write("CHILD_SCHOOL_URN,CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,"
                "CHILD_TOWN,CHILD_POSTCODE,CHILD_NHS_NUMBER,PARENT_1_NAME,PARENT_1_EMAIL\n")
        for i in range(rows):
            born = f"{2010 + i % 4}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            f.write(f"141001,Child{i},Load{i % 977},{born},\"{i} High Street, Flat {i % 9}\",Leeds,LS1 1AA,"
                    f"{next(numbers)},Parent {i},parent{i}@example.com\n")


def wait_until_up(base):
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("load test: mavis serve did not answer /health within 60 s")


def sign_in(base, email):
    """The pages' session cookie, through the runner's own OpenID Connect provider as a browser signs in."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    authorize = opener.open(base + "/sign-in?return_to=/imports").geturl()
    fields = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    fields["email"] = email
    opener.open(authorize.split("?")[0], urllib.parse.urlencode(fields).encode())
    cookies = [f"{c.name}={c.value}" for c in jar if c.name == "mavis_session"]
    if not cookies:
        raise SystemExit("load test: signing in gave no session cookie")
    return "; ".join(cookies)


def api(base, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    return json.load(urllib.request.urlopen(request))


def wrk(base, seconds, paths, token, cookie):
    env = dict(os.environ, LOAD_PATHS="\n".join(paths), LOAD_TOKEN=token, LOAD_COOKIE=cookie)
    out = subprocess.run(["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "--timeout", "10s",
                          "-s", os.path.join(HERE, "requests.lua"), base], env=env, capture_output=True, text=True)
    report = [line for line in out.stdout.splitlines() if line.startswith("REPORT ")]
    if out.returncode != 0 or not report:
        raise SystemExit(f"load test: wrk failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(report[0][len("REPORT "):])


def main():
    data = tempfile.mkdtemp(prefix="mavis-load-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(data, "serve.log"), "w")
    serve = subprocess.Popen([MAVIS, "serve", "--no-pds", "--no-imms", "--today", TODAY, "--port", str(port), "--data", data],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(base)
        token = subprocess.run([MAVIS, "token", "--user", "superuser@example.com", "--data", data],
                               capture_output=True, text=True, check=True).stdout.strip().split()[-1]
        cookie = sign_in(base, "superuser@example.com")
        csv = os.path.join(data, "load.csv")
        child_records(csv, ROWS)
        created = api(base, token, "POST", "/api/imports", {"kind": "child-records", "filename": "load.csv"})
        import_id = created["id"]
        paths = ["/api/imports", f"/api/imports/{import_id}", "/api/issues", "/api/school-moves", "/api/notices/count",
                 f"/api/imports/{import_id}/patients", "/imports", f"/imports/{import_id}", "/imports/issues",
                 "/school-moves", "/imports/notices"]
        baseline = wrk(base, BASELINE_SECONDS, paths, token, cookie)

        upload = created["upload"]
        with open(csv, "rb") as body:
            put = urllib.request.Request(upload["url"], data=body.read(), method=upload.get("method", "PUT"),
                                         headers=upload.get("headers", {}))
            urllib.request.urlopen(put)
        started = time.time()
        under_import = wrk(base, SECONDS_UNDER_LOAD, paths, token, cookie)
        status_after_load = api(base, token, "GET", f"/api/imports/{import_id}")["status"]
        while True:
            status = api(base, token, "GET", f"/api/imports/{import_id}")["status"]
            if status not in ("awaiting_upload", "pending_import", "committing", "calculating_re_review"):
                break
            if time.time() - started > 1800:
                raise SystemExit("load test: the import did not finish within 30 minutes")
            time.sleep(1)
        import_seconds = time.time() - started
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        log.close()

    report = {
        "what": f"mavis serve (release, embedded adapters, --no-pds --no-imms) on 127.0.0.1; wrk, {CLIENTS} "
                f"connections, 2 threads, GETs of {len(paths)} pages and JSON routes in turn",
        "machine": {"cpus": os.cpu_count(), "system": platform.platform()},
        "routes": paths,
        "baseline_nothing_importing": baseline,
        "under_import": under_import,
        "import": {"rows": ROWS, "status_when_the_load_stopped": status_after_load, "end_status": status,
                   "seconds_to_end": round(import_seconds, 1), "rows_per_second": round(ROWS / import_seconds, 1)},
    }
    os.makedirs("target", exist_ok=True)
    with open("target/load-test-report.json", "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))
    shutil.rmtree(data, ignore_errors=True)
    bad = [(name, run["statuses"]["5xx"], run["socket_errors"]) for name, run in
           (("baseline", baseline), ("under import", under_import))
           if run["statuses"]["5xx"] or any(run["socket_errors"].values())]
    if bad:
        raise SystemExit(f"load test: 5xx answers or socket errors: {bad}")


main()
