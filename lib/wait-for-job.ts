/**
 * A Python program (standard library only, so it runs in the application image itself) that
 * blocks until a Kubernetes Job has succeeded. App and worker pods run it as an init container so
 * no pod serves a new version before that version's migrations have run (DESIGN.md §6).
 *
 * It reads the Job through the API with the pod's service-account token and exits 0 once
 * `status.succeeded >= 1`, 1 if the Job has the Failed condition or the deadline passes.
 * Environment: JOB_NAME, WAIT_TIMEOUT_SECONDS, POLL_SECONDS (default 5); KUBERNETES_SERVICE_HOST/PORT
 * are set by the kubelet. API_BASE_URL and SA_DIR exist for tests that run it against a stub API.
 */
export const WAIT_FOR_JOB_PY = `
import json, os, ssl, sys, time, urllib.error, urllib.request
sa = os.environ.get("SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
job = os.environ["JOB_NAME"]
deadline = time.monotonic() + int(os.environ.get("WAIT_TIMEOUT_SECONDS", "1800"))
poll = float(os.environ.get("POLL_SECONDS", "5"))
base = os.environ.get("API_BASE_URL") or "https://%s:%s" % (os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"])
ctx = ssl.create_default_context(cafile=os.path.join(sa, "ca.crt")) if base.startswith("https") else None
ns = open(os.path.join(sa, "namespace")).read().strip()
url = "%s/apis/batch/v1/namespaces/%s/jobs/%s" % (base, ns, job)
while True:
    token = open(os.path.join(sa, "token")).read().strip()
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            status = json.load(r).get("status", {})
        if status.get("succeeded", 0) >= 1:
            print("job %s succeeded" % job, flush=True)
            sys.exit(0)
        if any(c.get("type") == "Failed" and c.get("status") == "True" for c in status.get("conditions", [])):
            print("job %s failed: see kubectl logs job/%s" % (job, job), flush=True)
            sys.exit(1)
        print("waiting for job %s" % job, flush=True)
    except (urllib.error.URLError, OSError, ValueError) as e:
        print("waiting for job %s: %s" % (job, e), flush=True)
    if time.monotonic() > deadline:
        print("gave up waiting for job %s" % job, flush=True)
        sys.exit(1)
    time.sleep(poll)
`.trimStart();
