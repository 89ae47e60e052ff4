"""deploy/, config/ and the Dockerfile: what the deployment files promise, checked.

- every YAML file under config/ and deploy/ parses; every roster config passes `roster check` with
  representative values, and `roster budget` where it configures Postgres;
- the App Platform specs use only fields and values of DigitalOcean's app spec (a whitelist built
  from DigitalOcean's OpenAPI description, see APP_SPEC below), and agree with config/roster.yaml:
  grace periods above shutdown_timeout, health checks on roster's health port, run commands that
  select existing roles, instance counts that feed the Postgres budget;
- docker compose, Kubernetes and systemd files keep the same properties in their own terms;
- the Dockerfile is multi-stage, builds with the scripts CI runs, and runs roster as a non-root
  PID 1 with the runtime packages scripts/runtime-deps.sh finds in the built binary;
- deploy/node/Dockerfile builds examples/node-app the way Node images are built (tsc from the dev
  dependencies, then pruned) and runs it under roster the same way (scripts/test-images.sh builds
  and runs it for real).

Needs python3-yaml (scripts/install-deps.sh --test installs it) for the YAML files.
"""
import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import urllib.parse

from harness import ROSTER, SRC, check, run, run_roster, tmpdir

try:
    import yaml
except ImportError:  # reported by each test that needs it
    yaml = None

ROOT = os.path.abspath(SRC)
CONFIG_DIR = os.path.join(ROOT, "config")
DEPLOY_DIR = os.path.join(ROOT, "deploy")
DEFAULT_CONFIG = os.path.join(CONFIG_DIR, "roster.yaml")
ONE_CONTAINER = os.path.join(DEPLOY_DIR, "app-platform", "one-container.yaml")
PER_COMPONENT = os.path.join(DEPLOY_DIR, "app-platform", "per-component.yaml")
COMPOSE = os.path.join(DEPLOY_DIR, "docker-compose.yml")
K8S_ONE = os.path.join(DEPLOY_DIR, "k8s", "one-container.yaml")
K8S_PER = os.path.join(DEPLOY_DIR, "k8s", "per-component.yaml")
SYSTEMD_UNIT = os.path.join(DEPLOY_DIR, "systemd", "roster.service")
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
NODE_DOCKERFILE = os.path.join(DEPLOY_DIR, "node", "Dockerfile")
NODE_APP = os.path.join(ROOT, "examples", "node-app")
RUNTIME_DEPS = os.path.join(ROOT, "scripts", "runtime-deps.sh")

PG_URL = "postgres://u:p@db:5432/app"
REDIS_PLAIN = "redis://:secret@cache:6379/0"
REDIS_TLS = "rediss://default:secret@cache.example.com:25061"
TLS_MISSING = "needs roster built against hiredis 1.0 or later with TLS"

_demo_dir = None


def representative_env(**extra):
    """Values a deployment would provide, for every variable the configs under config/ read."""
    global _demo_dir
    if _demo_dir is None:
        _demo_dir = tmpdir()
    env = {
        "DATABASE_URL": PG_URL,
        "REDIS_URL": REDIS_PLAIN,
        "PORT": "8080",
        "ROSTER_HEALTH_PORT": "9090",
        "API_INSTANCES": "2",
        "WORKER_INSTANCES": "1",
        "SCHEDULER_INSTANCES": "1",
        "JOB_SECRET": "whsec_test",   # config/roster.yaml's worker signs its http calls with it
        "DEMO_DIR": _demo_dir,        # config/demo.yaml (scripts/demo.sh sets it)
    }
    env.update(extra)
    return env


def need_yaml():
    check(yaml is not None,
          "python3-yaml is not installed (sh scripts/install-deps.sh --test installs it)")


def load_yaml(path, many=False):
    need_yaml()
    with open(path) as f:
        return list(yaml.safe_load_all(f)) if many else yaml.safe_load(f)


def rel(path):
    return os.path.relpath(path, ROOT)


# ---- roster check / budget output ------------------------------------------------------------

def parse_duration(text):
    """'25s', '1m30s', '500ms', '2h' -> seconds (float); systemd's bare numbers are seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total, pos = 0.0, 0
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    for m in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h)", text):
        check(m.start() == pos, "cannot parse duration %r" % text)
        total += float(m.group(1)) * units[m.group(2)]
        pos = m.end()
    check(pos == len(text) and pos > 0, "cannot parse duration %r" % text)
    return total


def roster_check(path, env, role=None):
    args = ["check", "-c", path] + (["--role", role] if role else [])
    return run_roster(args, env=env)


def parse_plan(out):
    """The parts of `roster check` output the deploy files depend on."""
    plan = {"roles": {}, "ports": {}, "locks": set()}
    m = re.search(r"^shutdown_timeout: (\S+)$", out, re.M)
    plan["shutdown"] = parse_duration(m.group(1)) if m else None
    m = re.search(r"^health: http://([^/\s]+)/health$", out, re.M)
    plan["health_port"] = int(m.group(1).rsplit(":", 1)[1]) if m else None
    plan["postgres"] = re.search(r"^postgres: \S", out, re.M) is not None
    m = re.search(r"^log: .*, lines cut at (\S+)$", out, re.M)
    plan["max_line"] = m.group(1) if m else None
    current = None
    for line in out.splitlines():
        m = re.fullmatch(r"  (\S+) \((service|oneshot)\)", line)
        if m:
            current = m.group(1)
            plan["roles"][current] = m.group(2)
            continue
        m = re.fullmatch(r"    port: (\d+)", line)
        if m and current:
            plan["ports"][current] = int(m.group(1))
        if line == "    lock: postgres" and current:
            plan["locks"].add(current)
    return plan


def checked_plan(path, env, role=None):
    code, out, err = roster_check(path, env, role)
    check(code == 0 and out.rstrip().endswith("ok"),
          "roster check -c %s%s failed (exit %d):\n%s%s" % (
              rel(path), " --role " + role if role else "", code, err, out[-400:]))
    return parse_plan(out)


def parse_budget(out):
    """`roster budget` table -> ({role: (copies, pool_each, total)}, total, usable)."""
    rows = {}
    for m in re.finditer(r"^(\S+)\s+(\d+)\s+(\d+|fixed)\s+(\d+)\s+(\d+)\s+[\d.]+%$", out, re.M):
        if m.group(1) != "total":
            rows[m.group(1)] = (int(m.group(2)), int(m.group(4)), int(m.group(5)))
    m = re.search(r"^total\s+(\d+)\s+[\d.]+%\s+of (\d+) usable$", out, re.M)
    check(m is not None and rows, "no budget table in:\n" + out)
    return rows, int(m.group(1)), int(m.group(2))


def budget(path, env, max_connections=25):
    code, out, err = run_roster(["budget", "-c", path, "--max-connections", str(max_connections)],
                                env=env)
    check(code == 0, "roster budget -c %s failed (exit %d): %s%s" % (rel(path), code, err, out))
    rows, total, usable = parse_budget(out)
    check(total <= usable, "budget hands out %d of %d usable:\n%s" % (total, usable, out))
    check(sum(r[2] for r in rows.values()) == total, "rows do not add up:\n" + out)
    return rows, usable


def config_vars(path):
    """Names of the ${VAR...} references in a config (comments aside), and those without a
    default."""
    text = "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in open(path))
    refs = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?][^}]*)?\}", text)
    every = {name for name, _ in refs}
    required = {name for name, rest in refs if not rest or rest.startswith((":?", "?"))}
    return every, required


def env_without(names):
    """os.environ minus the given names: what a config sees when a platform sets only its own."""
    return {k: v for k, v in os.environ.items() if k not in names}


def instance_vars():
    """config/roster.yaml's postgres.instances: {role: VAR} for counts fed from the environment."""
    cfg = load_yaml(DEFAULT_CONFIG)
    out = {}
    for role, value in (cfg.get("postgres") or {}).get("instances", {}).items():
        m = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-\d+)?\}", str(value))
        check(m is not None, "postgres.instances.%s is not fed from a variable: %r" % (role, value))
        out[role] = m.group(1)
    return out


def default_plan():
    return checked_plan(DEFAULT_CONFIG, representative_env())


def check_as_deployed(path, env, role=None, what=""):
    """roster check with exactly the variables a platform sets (plus the host's unrelated ones).
    A rediss:// URL passes on a build with TLS and must fail with the clear TLS message on one
    without; then the rest is checked with a plain redis:// URL."""
    names, _ = config_vars(path)
    full = env_without(names)
    full.update(env)
    code, out, err = roster_check(path, full, role)
    if code != 0 and full.get("REDIS_URL", "").startswith("rediss://"):
        errors = [l for l in err.splitlines() if l.strip()]
        check(errors and all(TLS_MISSING in l for l in errors),
              "%s: roster check failed for another reason than TLS:\n%s" % (what, err))
        full["REDIS_URL"] = "redis://" + full["REDIS_URL"][len("rediss://"):]
        code, out, err = roster_check(path, full, role)
    check(code == 0 and out.rstrip().endswith("ok"),
          "%s: roster check -c %s%s with the platform's variables failed (exit %d):\n%s" % (
              what, rel(path), " --role " + role if role else "", code, err))
    return parse_plan(out), full


def app_urls(path, env, role=None):
    """The URLs the built-in roles call (the worker's http handlers, the scheduler's http
    actions), as `roster check` resolves them with this environment."""
    code, out, err = roster_check(path, env, role)
    check(code == 0, "roster check -c %s: %s" % (rel(path), err))
    return re.findall(r"^    (?:handler|schedule) \S+: .*?\bhttp [A-Z]+ (\S+)", out, re.M)


def check_app_urls(path, env, role, hosts, what):
    """Each URL the built-in roles of `role` (None: all) call reaches one of hosts (host:port)."""
    if role not in (None, "worker", "scheduler"):
        return  # (`roster check --role api` still shows the other roles' settings)
    urls = app_urls(path, env, role)
    check(urls, "%s: the built-in %s calls the api" % (what, role or "roles"))
    for u in urls:
        p = urllib.parse.urlsplit(u)
        check("%s:%s" % (p.hostname, p.port or 80) in hosts,
              "%s: %s reaches %s:%s, not the api (%s)" % (what, u, p.hostname, p.port or 80,
                                                          sorted(hosts)))


# ---- YAML files and roster configs -----------------------------------------------------------

def yaml_files():
    out = []
    for top in (CONFIG_DIR, DEPLOY_DIR):
        for d, _, files in os.walk(top):
            out += [os.path.join(d, f) for f in files if f.endswith((".yaml", ".yml"))]
    return sorted(out)


def roster_configs():
    """Every YAML file under config/, and any under deploy/ that is a roster config (roles:)."""
    out = []
    for path in yaml_files():
        if path.startswith(CONFIG_DIR + os.sep):
            out.append(path)
        elif re.search(r"^roles:", open(path).read(), re.M):
            out.append(path)
    return out


def test_yaml_files_parse():
    need_yaml()
    files = yaml_files()
    for expected in (DEFAULT_CONFIG, ONE_CONTAINER, PER_COMPONENT, COMPOSE, K8S_ONE, K8S_PER):
        check(expected in files, "missing %s" % rel(expected))
    check(len([f for f in files if "/config/examples/" in f]) >= 2, "config/examples/ has examples")
    for path in files:
        try:
            docs = load_yaml(path, many=True)
        except yaml.YAMLError as e:
            raise AssertionError("%s does not parse: %s" % (rel(path), e))
        docs = [d for d in docs if d is not None]
        check(docs, "%s is empty" % rel(path))
        for d in docs:
            check(isinstance(d, dict), "%s: a document is not a mapping" % rel(path))


def test_roster_configs_pass_check_and_budget():
    configs = roster_configs()
    check(DEFAULT_CONFIG in configs, "config/roster.yaml is checked")
    budgets = 0
    for path in configs:
        plan = checked_plan(path, representative_env())
        check(plan["roles"], "%s defines roles" % rel(path))
        if plan["postgres"]:
            rows, usable = budget(path, representative_env())
            check(usable > 0 and rows, "%s: an empty budget" % rel(path))
            budgets += 1
    check(budgets >= 2, "at least config/roster.yaml and one example configure postgres")


def test_default_config():
    plan = default_plan()
    check(plan["roles"] == {"migrate": "oneshot", "api": "service", "worker": "service",
                            "scheduler": "service"}, "roles of config/roster.yaml: %r" % plan["roles"])
    check(plan["locks"] == {"migrate"}, "migrate runs under lock: postgres")
    code, out, _ = roster_check(DEFAULT_CONFIG, representative_env())
    check("    builtin: worker (" in out and "    builtin: scheduler (" in out,
          "the worker and the scheduler are roster's built-in roles:\n" + out)
    check_app_urls(DEFAULT_CONFIG, representative_env(PORT="3000"), None, {"127.0.0.1:3000"},
                   "config/roster.yaml in one container")
    check(plan["shutdown"] == 25, "shutdown_timeout 25s, not %r" % plan["shutdown"])
    check(plan["health_port"] == 9090 and plan["ports"] == {"api": 8080}, repr(plan))
    # health.listen, PORT and the instance counts come from the environment
    plan = checked_plan(DEFAULT_CONFIG, representative_env(ROSTER_HEALTH_PORT="9191", PORT="3000"))
    check(plan["health_port"] == 9191 and plan["ports"] == {"api": 3000}, repr(plan))
    rows, usable = budget(DEFAULT_CONFIG, representative_env(API_INSTANCES="3",
                                                             WORKER_INSTANCES="2"))
    check(usable == 19, "25 - 3 reserved - headroom 3 = 19 usable, not %d" % usable)
    check({r: c for r, (c, _, _) in rows.items()} == {"api": 3, "worker": 2, "scheduler": 1},
          "copies follow API_INSTANCES/WORKER_INSTANCES: %r" % rows)
    check("migrate" not in rows, "the migrate oneshot lives in the headroom")
    check(set(instance_vars()) == {"api", "worker", "scheduler"}, repr(instance_vars()))
    # every role can run alone, as one component each
    for role in plan["roles"]:
        sub = checked_plan(DEFAULT_CONFIG, representative_env(), role=role)
        check(role in sub["roles"], "--role %s" % role)
    # without DATABASE_URL the template fails, naming the variable
    env = env_without({"DATABASE_URL"})
    env.update({k: v for k, v in representative_env().items() if k != "DATABASE_URL"})
    p = subprocess.run([ROSTER, "check", "-c", DEFAULT_CONFIG], capture_output=True, text=True,
                       env=env, timeout=20)
    check(p.returncode == 2 and "DATABASE_URL" in p.stderr, "missing DATABASE_URL: " + p.stderr)
    # managed Redis/Valkey hands out rediss:// URLs: accepted, or refused with the clear message
    code, out, err = roster_check(DEFAULT_CONFIG, representative_env(REDIS_URL=REDIS_TLS))
    check(code == 0 or (code == 2 and TLS_MISSING in err), "rediss:// (exit %d): %s" % (code, err))


# ---- DigitalOcean App Platform: a whitelist of the app spec ----------------------------------
#
# Built from DigitalOcean's OpenAPI description (github.com/digitalocean/openapi,
# specification/resources/apps/models/):
#   app_spec.yml                         top-level keys, name pattern, region enum
#   app_component_base.yml               name, git/github/gitlab/image, dockerfile_path,
#                                        build_command, run_command, source_dir, envs, environment_slug
#   app_component_instance_base.yml      instance_count (>= 1), instance_size_slug enum, autoscaling
#   app_service_spec.yml                 health_check, liveness_health_check, protocol enum,
#                                        http_port 1..65535, internal_ports, termination
#   app_worker_spec.yml, app_job_spec.yml, app_job_spec_kind.yml (UNSPECIFIED, PRE_DEPLOY,
#                                        POST_DEPLOY, FAILED_DEPLOY)
#   app_service_spec_health_check.yml    health check keys (port: 1..65535)
#   app_health_check_spec.yml            liveness keys and ranges (success_threshold 1..1,
#                                        failure_threshold 1..50, period 1..300, timeout 1..120,
#                                        initial delay 0..3600)
#   app_database_spec.yml                database keys, engine enum (incl. VALKEY), name pattern
#   apps_app_variable_definition.yml     env key pattern, scope/type enums
#   apps_image_source_spec.yml, image_source_spec_registry_type.yml
# The termination objects (app_service_spec_termination.yml etc.) are referenced there; their
# ranges (drain_seconds 1..110, grace_period_seconds 1..600), the service health_check ranges,
# instance_count <= 250 and the GHCR/DOCKER_HUB registry types are from DigitalOcean's app spec
# reference (docs.digitalocean.com/products/app-platform/reference/app-spec/), which is generated
# from the same description. Anything not listed is rejected: the whitelist is a subset of the
# spec (no static sites, functions, alerts, log destinations, CORS or deprecated routes).

NAME_RE = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
STR, BOOL = ("str",), ("bool",)


def INT(lo, hi=None):
    return ("int", lo, hi)


def ENUM(*values):
    return ("enum", values)


def PATTERN(rx):
    return ("pattern", rx)


def OBJ(fields, required=()):
    return ("obj", fields, tuple(required))


def LIST(item):
    return ("list", item)


INSTANCE_SIZES = (
    # app_component_instance_base.yml (current slugs, then the deprecated old_instance_size_slug)
    "apps-s-1vcpu-0.5gb", "apps-s-1vcpu-1gb-fixed", "apps-s-1vcpu-1gb", "apps-s-1vcpu-2gb",
    "apps-s-2vcpu-4gb", "apps-d-1vcpu-0.5gb", "apps-d-1vcpu-1gb", "apps-d-1vcpu-2gb",
    "apps-d-1vcpu-4gb", "apps-d-2vcpu-4gb", "apps-d-2vcpu-8gb", "apps-d-4vcpu-8gb",
    "apps-d-4vcpu-16gb", "apps-d-8vcpu-32gb",
    "basic-xxs", "basic-xs", "basic-s", "basic-m", "professional-xs", "professional-s",
    "professional-m", "professional-1l", "professional-l", "professional-xl")

VARDEF = OBJ({
    "key": PATTERN(r"^[_A-Za-z][_A-Za-z0-9]*$"),
    "value": STR,
    "scope": ENUM("UNSET", "RUN_TIME", "BUILD_TIME", "RUN_AND_BUILD_TIME"),
    "type": ENUM("GENERAL", "SECRET"),
}, required=("key",))

GIT_SERVICE = OBJ({"repo": PATTERN(r"^[^/]+(/[^/]+)+$"), "branch": STR, "deploy_on_push": BOOL})

COMPONENT_BASE = {
    "name": PATTERN(NAME_RE),
    "git": OBJ({"repo_clone_url": STR, "branch": STR}),
    "github": OBJ({"repo": PATTERN(r"^[^/]+/[^/]+$"), "branch": STR, "deploy_on_push": BOOL}),
    "gitlab": GIT_SERVICE,
    "bitbucket": GIT_SERVICE,
    "image": OBJ({"registry": STR, "registry_type": ENUM("UNSPECIFIED", "DOCR", "DOCKER_HUB", "GHCR"),
                  "registry_credentials": STR, "repository": STR, "tag": STR, "digest": STR,
                  "deploy_on_push": OBJ({"enabled": BOOL})}),
    "dockerfile_path": STR,
    "build_command": STR,
    "run_command": STR,
    "source_dir": STR,
    "envs": LIST(VARDEF),
    "environment_slug": STR,
}

INSTANCE_BASE = {
    "instance_count": INT(1, 250),
    "instance_size_slug": ENUM(*INSTANCE_SIZES),
    "autoscaling": OBJ({"min_instance_count": INT(1, 250), "max_instance_count": INT(1, 250),
                        "metrics": OBJ({"cpu": OBJ({"percent": INT(1, 100)})})}),
}

SERVICE_HEALTH_CHECK = OBJ({
    "failure_threshold": INT(1, 50),
    "port": INT(1, 65535),
    "http_path": PATTERN(r"^/"),
    "initial_delay_seconds": INT(0, 3600),
    "period_seconds": INT(1, 300),
    "success_threshold": INT(1, 50),
    "timeout_seconds": INT(1, 120),
})

LIVENESS_HEALTH_CHECK = OBJ({
    "failure_threshold": INT(1, 50),
    "port": INT(1, 65535),
    "http_path": PATTERN(r"^/"),
    "initial_delay_seconds": INT(0, 3600),
    "period_seconds": INT(1, 300),
    "success_threshold": INT(1, 1),
    "timeout_seconds": INT(1, 120),
})

GRACE = INT(1, 600)

SERVICE = OBJ(dict(COMPONENT_BASE, **INSTANCE_BASE, **{
    "health_check": SERVICE_HEALTH_CHECK,
    "liveness_health_check": LIVENESS_HEALTH_CHECK,
    "protocol": ENUM("HTTP", "HTTP2"),
    "http_port": INT(1, 65535),
    "internal_ports": LIST(INT(1, 65535)),
    "termination": OBJ({"drain_seconds": INT(1, 110), "grace_period_seconds": GRACE}),
}), required=("name",))

WORKER = OBJ(dict(COMPONENT_BASE, **INSTANCE_BASE, **{
    "liveness_health_check": LIVENESS_HEALTH_CHECK,
    "termination": OBJ({"grace_period_seconds": GRACE}),
}), required=("name",))

JOB = OBJ(dict(COMPONENT_BASE, **INSTANCE_BASE, **{
    "kind": ENUM("UNSPECIFIED", "PRE_DEPLOY", "POST_DEPLOY", "FAILED_DEPLOY"),
    "termination": OBJ({"grace_period_seconds": GRACE}),
}), required=("name",))

DATABASE = OBJ({
    "cluster_name": STR,
    "db_name": STR,
    "db_user": STR,
    "engine": ENUM("UNSET", "MYSQL", "PG", "REDIS", "MONGODB", "KAFKA", "OPENSEARCH", "VALKEY"),
    "name": PATTERN(NAME_RE),
    "production": BOOL,
    "version": STR,
}, required=("name",))

APP_SPEC = OBJ({
    "name": PATTERN(NAME_RE),
    "region": ENUM("ams", "nyc", "fra", "sfo", "sgp", "blr", "tor", "lon", "syd"),
    "disable_edge_cache": BOOL,
    "disable_email_obfuscation": BOOL,
    "enhanced_threat_control_enabled": BOOL,
    "domains": LIST(OBJ({"domain": STR, "type": ENUM("UNSPECIFIED", "DEFAULT", "PRIMARY", "ALIAS"),
                         "wildcard": BOOL, "zone": STR, "minimum_tls_version": ENUM("1.2", "1.3")},
                        required=("domain",))),
    "services": LIST(SERVICE),
    "workers": LIST(WORKER),
    "jobs": LIST(JOB),
    "databases": LIST(DATABASE),
    "envs": LIST(VARDEF),
    "ingress": OBJ({"rules": LIST(OBJ({
        "match": OBJ({"path": OBJ({"prefix": STR})}),
        "component": OBJ({"name": STR, "preserve_path_prefix": BOOL, "rewrite": STR},
                         required=("name",)),
    }))}),
    "maintenance": OBJ({"enabled": BOOL, "offline_page_url": STR}),
}, required=("name",))


def validate(value, schema, path="spec"):
    """Errors (strings) for value against a whitelist schema; [] when it conforms."""
    kind = schema[0]
    if kind == "obj":
        if not isinstance(value, dict):
            return ["%s: expected a mapping, got %r" % (path, value)]
        errors = []
        for key, sub in value.items():
            if key not in schema[1]:
                errors.append("%s: unknown field %r (DigitalOcean's app spec has no such field here)"
                              % (path, key))
            else:
                errors += validate(sub, schema[1][key], "%s.%s" % (path, key))
        errors += ["%s: missing required field %r" % (path, k) for k in schema[2] if k not in value]
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return ["%s: expected a list, got %r" % (path, value)]
        return [e for i, item in enumerate(value) for e in validate(item, schema[1],
                                                                     "%s[%d]" % (path, i))]
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return ["%s: expected an integer, got %r" % (path, value)]
        lo, hi = schema[1], schema[2]
        if value < lo or (hi is not None and value > hi):
            return ["%s: %d is outside %s..%s" % (path, value, lo, hi if hi is not None else "")]
        return []
    if kind == "bool":
        if isinstance(value, bool):
            return []
        return ["%s: expected true or false, got %r" % (path, value)]
    if not isinstance(value, str):
        return ["%s: expected a string, got %r" % (path, value)]
    if kind == "enum" and value not in schema[1]:
        return ["%s: %r is not one of %s" % (path, value, ", ".join(schema[1]))]
    if kind == "pattern" and not re.search(schema[1], value):
        return ["%s: %r does not match %s" % (path, value, schema[1])]
    return []


def components(spec):
    """(kind, component) for every service, worker and job."""
    return ([("service", c) for c in spec.get("services", [])] +
            [("worker", c) for c in spec.get("workers", [])] +
            [("job", c) for c in spec.get("jobs", [])])


def bindable_value(value, spec):
    """${db.DATABASE_URL}-style references resolved to representative values, checking that each
    names a database of the spec (PG: a postgres:// URL; REDIS/VALKEY: a rediss:// URL)."""
    dbs = {d["name"]: d for d in spec.get("databases", [])}

    def sub(m):
        name, var = m.group(1), m.group(2)
        check(name in dbs, "${%s.%s} names no database of the spec" % (name, var))
        check(var == "DATABASE_URL", "unexpected bindable variable ${%s.%s}" % (name, var))
        engine = dbs[name].get("engine")
        if engine == "PG":
            return "postgresql://doadmin:pw@%s.db.example.com:25060/app?sslmode=require" % name
        check(engine in ("REDIS", "VALKEY"), "database %s: engine %r" % (name, engine))
        return "rediss://default:pw@%s.db.example.com:25061" % name
    return re.sub(r"\$\{([a-z][a-z0-9-]*)\.([A-Z_]+)\}", sub, value)


def component_env(spec, comp, kind):
    """The environment App Platform gives a component: app-level envs, then the component's own,
    with bindable references resolved, and PORT from http_port for services without PORT."""
    env = {}
    for e in spec.get("envs", []) + comp.get("envs", []):
        env[e["key"]] = bindable_value(e.get("value", ""), spec)
    if kind == "service" and "PORT" not in env:
        env["PORT"] = str(comp.get("http_port", 8080))
    return env


def app_spec_checks(spec, plan, what):
    """Checks both App Platform shapes share; returns their errors (so a mutation can be seen to
    fail them)."""
    errors = validate(spec, APP_SPEC, what)
    names = [c.get("name") for _, c in components(spec)] + [d.get("name") for d in
                                                            spec.get("databases", [])]
    if len(names) != len(set(names)):
        errors.append("%s: component names are not unique: %r" % (what, names))
    shutdown = plan["shutdown"]
    for kind, c in components(spec):
        where = "%s %s" % (what, c.get("name"))
        grace = (c.get("termination") or {}).get("grace_period_seconds")
        if not isinstance(grace, int) or grace <= shutdown:
            errors.append("%s: termination.grace_period_seconds %r must exceed roster's "
                          "shutdown_timeout (%ss)" % (where, grace, shutdown))
        cmd = shlex.split(c.get("run_command", ""))
        if not cmd or cmd[0] != "roster":
            errors.append("%s: run_command %r does not run roster" % (where, c.get("run_command")))
        if "--role" in cmd:
            i = cmd.index("--role")
            role = cmd[i + 1] if i + 1 < len(cmd) else None
            if role not in plan["roles"]:
                errors.append("%s: --role %r is not a role of config/roster.yaml (%s)"
                              % (where, role, ", ".join(plan["roles"])))
        if kind in ("service", "worker"):
            lv = c.get("liveness_health_check") or {}
            if lv.get("http_path") != "/livez" or lv.get("port") != plan["health_port"]:
                errors.append("%s: liveness_health_check must be /livez on roster's health port "
                              "%s, not %r" % (where, plan["health_port"], lv))
        if kind == "service":
            hc = c.get("health_check") or {}
            if hc.get("http_path") != "/readyz" or hc.get("port") != plan["health_port"]:
                errors.append("%s: health_check must be /readyz on roster's health port %s, not %r"
                              % (where, plan["health_port"], hc))
            if c.get("http_port") != plan["ports"].get("api"):
                errors.append("%s: http_port %r is not the api role's port %r"
                              % (where, c.get("http_port"), plan["ports"].get("api")))
    env_keys = {e["key"] for e in spec.get("envs", [])}
    _, required = config_vars(DEFAULT_CONFIG)
    for kind, c in components(spec):
        keys = env_keys | {e["key"] for e in c.get("envs", [])}
        missing = required - keys
        if missing:
            errors.append("%s %s: no value for %s, which config/roster.yaml requires"
                          % (what, c.get("name"), ", ".join(sorted(missing))))
    return errors


def role_of(comp):
    cmd = shlex.split(comp.get("run_command", ""))
    return cmd[cmd.index("--role") + 1] if "--role" in cmd else None


def instance_errors(spec, what, count_of_role):
    """postgres.instances variables must equal the instance counts of the components that run
    each role, so that roster's budget covers the whole fleet."""
    errors = []
    for role, var in instance_vars().items():
        want = count_of_role(role)
        values = [e.get("value") for e in spec.get("envs", []) if e["key"] == var]
        for _, c in components(spec):
            values += [e.get("value") for e in c.get("envs", []) if e["key"] == var]
        if values != [str(want)]:
            errors.append("%s: %s must be set once to %d (instance_count of the %s role), not %r"
                          % (what, var, want, role, values))
    return errors


def test_app_platform_specs_use_only_do_fields():
    plan = default_plan()
    for path in (ONE_CONTAINER, PER_COMPONENT):
        spec = load_yaml(path)
        errors = app_spec_checks(spec, plan, rel(path))
        check(not errors, "\n".join(errors))
        for d in spec.get("databases", []):
            check(d.get("production") is True and d.get("cluster_name"),
                  "%s: database %s: managed clusters (dev databases are PG only)" % (rel(path),
                                                                                     d["name"]))
        engines = sorted(d.get("engine") for d in spec.get("databases", []))
        check(engines == ["PG", "VALKEY"], "%s: a PG and a Valkey database, not %r" % (rel(path),
                                                                                      engines))


def test_app_platform_checks_can_fail():
    """Each kind of rule rejects a broken spec: unknown fields, enums, ranges, types, patterns,
    grace periods, health ports, role names, missing variables."""
    plan = default_plan()
    good = load_yaml(PER_COMPONENT)
    check(not app_spec_checks(good, plan, "good"), "the real spec passes")

    def broken(edit, expect):
        spec = copy.deepcopy(good)
        edit(spec)
        errors = app_spec_checks(spec, plan, "mutant")
        check(any(expect in e for e in errors), "expected an error with %r, got %r" % (expect,
                                                                                       errors))
    broken(lambda s: s["services"][0].update(helth_check={}), "unknown field 'helth_check'")
    broken(lambda s: s.update(static_site=[]), "unknown field 'static_site'")
    broken(lambda s: s["jobs"][0].update(kind="PREDEPLOY"), "'PREDEPLOY' is not one of")
    broken(lambda s: s["databases"][0].update(engine="POSTGRES"), "'POSTGRES' is not one of")
    broken(lambda s: s["services"][0]["health_check"].update(period_seconds=0), "outside 1..300")
    broken(lambda s: s["workers"][0]["liveness_health_check"].update(success_threshold=2),
           "outside 1..1")
    broken(lambda s: s["services"][0]["termination"].update(drain_seconds=111), "outside 1..110")
    broken(lambda s: s["workers"][0]["termination"].update(grace_period_seconds=601),
           "outside 1..600")
    broken(lambda s: s["workers"][0]["termination"].update(grace_period_seconds=20),
           "must exceed roster's shutdown_timeout")
    broken(lambda s: s["services"][0].update(instance_count="2"), "expected an integer")
    broken(lambda s: s["envs"][0].update(value=2), "expected a string")
    broken(lambda s: s["workers"][0].update(name="Worker"), "does not match")
    broken(lambda s: s.update(region="nyc1"), "'nyc1' is not one of")
    broken(lambda s: s["services"][0]["health_check"].update(port=8080), "/readyz on roster's")
    broken(lambda s: s["workers"][1].update(run_command="roster --role sched"),
           "'sched' is not a role")
    broken(lambda s: s.update(envs=[e for e in s["envs"] if e["key"] != "DATABASE_URL"]),
           "no value for DATABASE_URL")
    spec = copy.deepcopy(good)
    spec["services"][0]["instance_count"] = 3
    check(per_component_errors(spec, plan), "API_INSTANCES out of step with instance_count fails")


def test_app_platform_one_container():
    plan = default_plan()
    spec = load_yaml(ONE_CONTAINER)
    check(len(spec.get("services", [])) == 1 and not spec.get("workers") and not spec.get("jobs"),
          "one service, no workers or jobs")
    svc = spec["services"][0]
    check(shlex.split(svc["run_command"]) == ["roster"], "the service runs every role")
    count = svc.get("instance_count", 1)
    errors = instance_errors(spec, rel(ONE_CONTAINER), lambda role: count)
    check(not errors, "\n".join(errors))
    # the config as the container sees it: every role, its budget, its health port
    env = component_env(spec, svc, "service")
    got, full = check_as_deployed(DEFAULT_CONFIG, env, what=rel(ONE_CONTAINER))
    check(set(got["roles"]) == {"migrate", "api", "worker", "scheduler"}, repr(got["roles"]))
    check_app_urls(DEFAULT_CONFIG, full, None, {"127.0.0.1:%s" % svc["http_port"]},
                   rel(ONE_CONTAINER))
    check(got["health_port"] == svc["health_check"]["port"], "health port %r" % got["health_port"])
    check(got["max_line"] == "2KiB", "App Platform forwards 2 KiB lines: %r" % got["max_line"])
    rows, _ = budget(DEFAULT_CONFIG, full)
    check(all(c == count for c, _, _ in rows.values()), "copies = instance_count: %r" % rows)


def per_component_errors(spec, plan):
    errors = []
    services = {c["name"]: c for c in spec.get("services", [])}
    workers = {c["name"]: c for c in spec.get("workers", [])}
    jobs = {c["name"]: c for c in spec.get("jobs", [])}
    if set(services) != {"api"} or set(workers) != {"worker", "scheduler"}:
        errors.append("service api and workers worker, scheduler: %r %r" % (list(services),
                                                                            list(workers)))
    for kind, c in components(spec):
        if role_of(c) != c["name"]:
            errors.append("%s %s runs %r, not roster --role %s" % (kind, c["name"],
                                                                    c.get("run_command"), c["name"]))
    migrate = jobs.get("migrate", {})
    if migrate.get("kind") != "PRE_DEPLOY" or shlex.split(migrate.get("run_command", "")) != \
            ["roster", "--role", "migrate"]:
        errors.append("job migrate must be PRE_DEPLOY running roster --role migrate: %r" % migrate)
    if plan["roles"].get("migrate") != "oneshot":
        errors.append("migrate is not a oneshot in config/roster.yaml")
    by_role = {role_of(c): c for _, c in components(spec)}
    errors += instance_errors(spec, "per-component",
                              lambda role: by_role.get(role, {}).get("instance_count", 1))
    return errors


def test_app_platform_per_component():
    plan = default_plan()
    spec = load_yaml(PER_COMPONENT)
    errors = per_component_errors(spec, plan)
    check(not errors, "\n".join(errors))
    # each component, as deployed: its role alone, and a budget sized for the whole fleet
    fleet = {}
    for kind, c in components(spec):
        role = role_of(c)
        got, full = check_as_deployed(DEFAULT_CONFIG, component_env(spec, c, kind), role=role,
                                      what="%s %s" % (kind, c["name"]))
        check(role in got["roles"], "%s runs %s" % (c["name"], role))
        api = [x for k, x in components(spec) if k == "service" and role_of(x) == "api"][0]
        check_app_urls(DEFAULT_CONFIG, full, role, {"api:%s" % api["http_port"]},
                       "%s %s (the api over the private network)" % (kind, c["name"]))
        check(got["max_line"] == "2KiB", "%s: App Platform forwards 2 KiB lines: %r"
              % (c["name"], got["max_line"]))
        rows, usable = budget(DEFAULT_CONFIG, full)
        fleet[c["name"]] = rows
        for r, (copies, _, _) in rows.items():
            owner = [x for _, x in components(spec) if role_of(x) == r]
            check(owner and copies == owner[0].get("instance_count", 1),
                  "%s: budget counts %d copies of %s" % (c["name"], copies, r))
    check(len({json.dumps(r, sort_keys=True) for r in fleet.values()}) == 1,
          "every component computes the same fleet-wide plan: %r" % fleet)


# ---- docker compose --------------------------------------------------------------------------

def test_compose():
    plan = default_plan()
    doc = load_yaml(COMPOSE)
    services = doc["services"]
    check({"postgres", "redis", "app"} <= set(services), "postgres, redis and app services")
    roster_services = {n: s for n, s in services.items() if "build" in s or "roster" in
                       str(s.get("image", ""))}
    check(set(roster_services) == {"app", "migrate", "api", "worker", "scheduler"},
          "roster services: %r" % sorted(roster_services))
    for name, svc in roster_services.items():
        build = svc["build"]
        ctx = os.path.normpath(os.path.join(DEPLOY_DIR, build["context"]))
        check(ctx == ROOT and os.path.samefile(os.path.join(ctx, build.get("dockerfile",
                                                                           "Dockerfile")),
                                               DOCKERFILE), "%s builds the Dockerfile" % name)
        env = {k: str(v) for k, v in svc["environment"].items()}
        for var, service in (("DATABASE_URL", "postgres"), ("REDIS_URL", "redis")):
            check(var in env, "%s: sets %s" % (name, var))
            host = urllib.parse.urlsplit(env[var]).hostname
            check(host == service, "%s: %s points at the %s service, not %r" % (name, var,
                                                                                service, host))
            cond = (svc.get("depends_on") or {})
            check(service in cond or "migrate" in cond, "%s waits for %s" % (name, service))
        check(svc.get("stop_signal", "SIGTERM") == "SIGTERM", "%s: SIGTERM" % name)
        grace = parse_duration(svc.get("stop_grace_period", "10s"))
        check(grace > plan["shutdown"], "%s: stop_grace_period %ss must exceed shutdown_timeout"
              % (name, grace))
        mounts = [v.split(":") for v in svc.get("volumes", [])]
        configs = [m for m in mounts if m[1] == "/app/config/roster.yaml"]
        check(len(configs) == 1, "%s mounts a config at /app/config/roster.yaml" % name)
        host_config = os.path.normpath(os.path.join(DEPLOY_DIR, configs[0][0]))
        check(os.path.isfile(host_config), "%s: %s exists" % (name, configs[0][0]))
        cmd = svc.get("command") or []
        role = cmd[1] if cmd[:1] == ["--role"] and len(cmd) == 2 else None
        check((name == "app" and not cmd) or role == name,
              "%s: command %r (none for app, [--role %s] otherwise)" % (name, cmd, name))
        if name != "app":
            check(svc.get("profiles") == ["per-component"], "%s is in the per-component profile"
                  % name)
        # the mounted config, with exactly the variables compose sets
        got, full = check_as_deployed(host_config, env, role=role, what="compose " + name)
        check_app_urls(host_config, full, role, {"127.0.0.1:8080"} if role is None else
                       {"api:%s" % services["api"]["ports"][0].split(":")[1]},
                       "compose " + name)
        check(got["health_port"] == 9090 and (role is None or role in got["roles"]), repr(got))
        if name in ("app", "api"):
            ports = [p.split(":") for p in svc.get("ports", [])]
            check(["8080", str(got["ports"]["api"])] in ports, "%s publishes the api port" % name)
    for name in ("api", "worker", "scheduler"):
        dep = services[name]["depends_on"]["migrate"]["condition"]
        check(dep == "service_completed_successfully", "%s starts after migrate succeeded" % name)
    for name in ("postgres", "redis"):
        check(services[name].get("healthcheck", {}).get("test"), "%s has a healthcheck" % name)


# ---- Kubernetes ------------------------------------------------------------------------------

def k8s_docs(path):
    docs = [d for d in load_yaml(path, many=True) if d]
    for d in docs:
        check(d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"),
              "%s: every document has apiVersion, kind and metadata.name" % rel(path))
    return docs


def container_env(container, configmaps):
    """A container's literal environment: envFrom ConfigMaps, then env (secrets get
    representative values)."""
    env = {}
    for src in container.get("envFrom", []):
        name = src.get("configMapRef", {}).get("name")
        check(name in configmaps, "envFrom names ConfigMap %r, not in the manifest" % name)
        env.update({k: str(v) for k, v in configmaps[name].items()})
    secrets = {"url": PG_URL, "redis-url": REDIS_TLS, "job-secret": "whsec_test"}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            key = e["valueFrom"]["secretKeyRef"]["key"]
            check(key in secrets, "unexpected secret key %r" % key)
            env[e["name"]] = secrets[key]
    return env


def probe_port(container, probe):
    port = container[probe]["httpGet"]["port"]
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    check(port in named, "%s names port %r, which the container does not declare" % (probe, port))
    return named[port]


def dockerfile_uid():
    m = re.search(r"useradd\b[^\n]*--uid\s+(\d+)", open(DOCKERFILE).read())
    check(m is not None, "the Dockerfile creates its user with a fixed --uid")
    return int(m.group(1))


def check_k8s(path, shape):
    plan = default_plan()
    docs = k8s_docs(path)
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    workloads = [d for d in docs if d["kind"] in ("Deployment", "Job")]
    replicas_of_role = {}
    for w in workloads:
        name = "%s %s" % (w["kind"], w["metadata"]["name"])
        pod = w["spec"]["template"]["spec"]
        check(pod.get("terminationGracePeriodSeconds", 30) > plan["shutdown"],
              "%s: terminationGracePeriodSeconds must exceed shutdown_timeout" % name)
        sc = pod.get("securityContext", {})
        check(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == dockerfile_uid(),
              "%s: runs as the image's non-root user" % name)
        check(len(pod["containers"]) == 1, "%s: one container" % name)
        c = pod["containers"][0]
        check("command" not in c, "%s: keeps the image's ENTRYPOINT (roster)" % name)
        args = c.get("args", [])
        role = args[1] if args[:1] == ["--role"] and len(args) == 2 else None
        check(not args or role, "%s: args %r" % (name, args))
        env = container_env(c, configmaps)
        got, full = check_as_deployed(DEFAULT_CONFIG, env, role=role, what=name)
        svc_hosts = {"%s:%s" % (d["metadata"]["name"], p["port"]) for d in docs
                     if d["kind"] == "Service" for p in d["spec"]["ports"]}
        check_app_urls(DEFAULT_CONFIG, full, role,
                       {"127.0.0.1:%s" % env.get("PORT", 8080)} if role is None else svc_hosts,
                       name)
        if w["kind"] == "Deployment":
            for probe, path_ in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
                check(c.get(probe, {}).get("httpGet", {}).get("path") == path_,
                      "%s: %s on %s" % (name, probe, path_))
                check(probe_port(c, probe) == got["health_port"],
                      "%s: %s on roster's health port %s" % (name, probe, got["health_port"]))
            for r in ([role] if role else got["roles"]):
                replicas_of_role[r] = replicas_of_role.get(r, 0) + w["spec"].get("replicas", 1)
            if role == "api" or role is None:
                ports = {p["containerPort"] for p in c.get("ports", [])}
                check(got["ports"]["api"] in ports, "%s declares the api port" % name)
        else:
            check(role == "migrate" and pod.get("restartPolicy") == "Never",
                  "%s: runs --role migrate once (restartPolicy Never)" % name)
            check("backoffLimit" in w["spec"], "%s: sets backoffLimit" % name)
        w["_env"] = env
    # every pod's budget counts every replica of every role
    for w in workloads:
        for r, var in instance_vars().items():
            want = replicas_of_role.get(r, 1)
            check(w["_env"].get(var) == str(want),
                  "%s %s: %s=%r, but %d replica(s) run %s" % (
                      w["kind"], w["metadata"]["name"], var, w["_env"].get(var), want, r))
    if shape == "one":
        check([w["kind"] for w in workloads] == ["Deployment"], "one Deployment")
        check(not workloads[0]["spec"]["template"]["spec"]["containers"][0].get("args"),
              "the one-container Deployment runs every role")
    else:
        roles = sorted(w["spec"]["template"]["spec"]["containers"][0]["args"][1]
                       for w in workloads)
        check(roles == sorted(plan["roles"]), "one workload per role: %r" % roles)
    check(any(d["kind"] == "Service" for d in docs), "a Service for the api")


def test_k8s_one_container():
    check_k8s(K8S_ONE, "one")


def test_k8s_per_component():
    check_k8s(K8S_PER, "per")


# ---- systemd ---------------------------------------------------------------------------------

def parse_unit(path):
    sections, cur = {}, None
    for raw in open(path):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            cur = sections.setdefault(m.group(1), {})
            continue
        check(cur is not None and "=" in line, "%s: stray line %r" % (rel(path), line))
        key, value = line.split("=", 1)
        cur.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit():
    plan = default_plan()
    unit = parse_unit(SYSTEMD_UNIT)
    svc = unit.get("Service", {})

    def one(key):
        vals = svc.get(key, [])
        check(len(vals) == 1, "Service.%s is set once, not %r" % (key, vals))
        return vals[0]
    check(one("Type") == "notify", "Type=notify: roster sends READY=1 when its roles are ready")
    check(one("NotifyAccess") in ("main", "all"), "NotifyAccess lets roster's pid notify")
    start = shlex.split(one("ExecStart"))
    check(os.path.basename(start[0]) == "roster" and "--role" not in start and
          start[1:2] != ["check"], "ExecStart runs every role: %r" % start)
    reload_ = one("ExecReload")
    check(re.search(r"\bkill\b.*-(HUP|s\s*HUP|SIGHUP)\b.*\$MAINPID", reload_) is not None,
          "ExecReload sends SIGHUP to roster: %r" % reload_)
    check(parse_duration(one("TimeoutStopSec")) > plan["shutdown"],
          "TimeoutStopSec must exceed shutdown_timeout (%ss)" % plan["shutdown"])
    check(one("KillMode") == "mixed",
          "KillMode=mixed: SIGTERM to roster alone, which stops its roles in order")
    check(svc.get("KillSignal", ["SIGTERM"]) == ["SIGTERM"], "KillSignal SIGTERM")
    wd = parse_duration(one("WatchdogSec"))
    check(wd > 0, "WatchdogSec: roster answers WATCHDOG_USEC")
    check(unit.get("Install", {}).get("WantedBy"), "[Install] WantedBy")


# ---- Dockerfile ------------------------------------------------------------------------------

def dockerfile_instructions(path):
    """[(stage index, INSTRUCTION, args)] with continuations joined and comments dropped."""
    lines, buf = [], ""
    for raw in open(path):
        s = raw.rstrip("\n")
        if s.strip().startswith("#"):
            continue
        if s.rstrip().endswith("\\"):
            buf += s.rstrip()[:-1] + " "
            continue
        buf += s
        if buf.strip():
            lines.append(buf.strip())
        buf = ""
    check(not buf.strip(), "a continuation runs off the end of the Dockerfile")
    out, stage = [], -1
    for line in lines:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stage += 1
        out.append((stage, instr, args.strip()))
    return out


def shell_commands(run_args):
    return [c.strip() for c in re.split(r"&&|\|\||;|\n", run_args) if c.strip()]


def script_runs(commands, script):
    """Indexes of commands that run scripts/<script> (as sh scripts/x.sh or scripts/x.sh)."""
    rx = re.compile(r"^(?:sh\s+|bash\s+)?(?:\./)?scripts/%s(?:\s|$)" % re.escape(script))
    return [i for i, c in enumerate(commands) if rx.search(c)]


def test_dockerfile():
    ins = dockerfile_instructions(DOCKERFILE)
    args_default = {}
    for stage, instr, args in ins:
        if stage == -1 and instr == "ARG" and "=" in args:
            k, v = args.split("=", 1)
            args_default[k] = v
    froms = [args for _, instr, args in ins if instr == "FROM"]
    check(len(froms) >= 2, "multi-stage: %r" % froms)
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args_default.get(m.group(1), "?"), f.split()[0])
             for f in froms]
    check(all(b.startswith("debian:trixie") for b in bases),
          "Debian 13 (hiredis with TLS for rediss://) in every stage: %r" % bases)
    m = re.fullmatch(r"\S+\s+AS\s+(\S+)", froms[0], re.I)
    check(m is not None, "the build stage is named")
    build_name, last = m.group(1), len(froms) - 1

    build_cmds = [c for st, instr, a in ins if st == 0 and instr == "RUN" for c in shell_commands(a)]
    inst, bld = script_runs(build_cmds, "install-deps.sh"), script_runs(build_cmds, "build.sh")
    check(inst and bld and inst[0] < bld[0],
          "the build stage runs scripts/install-deps.sh, then scripts/build.sh: %r" % build_cmds)
    # the same two scripts CI runs: .ci/run -> scripts/test.sh -> install-deps.sh, build.sh
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    check(re.search(r"^\s*exec\s+sh\s+scripts/test\.sh\s*$", ci, re.M), ".ci/run runs scripts/test.sh")
    test_sh = [l.strip() for l in open(os.path.join(ROOT, "scripts", "test.sh"))
               if l.strip() and not l.strip().startswith("#")]
    t_inst, t_bld = script_runs(test_sh, "install-deps.sh"), script_runs(test_sh, "build.sh")
    check(t_inst and t_bld and t_inst[0] < t_bld[0],
          "scripts/test.sh runs install-deps.sh then build.sh: %r" % test_sh)
    deps = [c for c in build_cmds if re.search(r"scripts/runtime-deps\.sh\s+build/roster\s*>\s*\S+",
                                               c)]
    check(len(deps) == 1, "the build stage lists runtime packages with scripts/runtime-deps.sh")
    pkg_file = re.search(r">\s*(\S+)", deps[0]).group(1)

    final = [(instr, a) for st, instr, a in ins if st == last]
    final_text = "\n".join(a for _, a in final)
    check("install-deps.sh" not in final_text and "build.sh" not in final_text and
          "build-essential" not in final_text and not re.search(r"\S+-dev\b", final_text),
          "the runtime stage installs no build tools")
    copies = [a for instr, a in final if instr == "COPY"]
    pkg_copy = [a.split() for a in copies if "--from=%s" % build_name in a and pkg_file in a]
    check(len(pkg_copy) == 1, "the runtime stage copies %s from the build stage" % pkg_file)
    pkg_dest = pkg_copy[0][-1]
    runs = [a for instr, a in final if instr == "RUN"]
    installs = [a for a in runs if "apt-get install" in a]
    check(len(installs) == 1, "one apt-get install in the runtime stage")
    check("--no-install-recommends" in installs[0] and "ca-certificates" in installs[0] and
          "$(cat %s)" % pkg_dest in installs[0],
          "apt-get install --no-install-recommends ca-certificates $(cat %s)" % pkg_dest)
    check(any("/var/lib/apt/lists" in a for a in runs), "apt lists are removed")
    bin_copy = [a.split() for a in copies if "build/roster" in a and "--from=%s" % build_name in a]
    check(len(bin_copy) == 1 and bin_copy[0][-1] in ("/usr/local/bin/roster", "/usr/local/bin/",
                                                      "/usr/bin/roster", "/usr/bin/"),
          "roster is copied onto the PATH: %r" % bin_copy)

    def last_of(name):
        vals = [a for instr, a in final if instr == name]
        check(vals, "the runtime stage sets %s" % name)
        return vals[-1]
    user = last_of("USER")
    check(user.split(":")[0] not in ("root", "0"), "USER is not root: %r" % user)
    check(re.search(r"useradd\b.*\b%s\s*$" % re.escape(user.split(":")[0]), final_text, re.M) or
          re.search(r"useradd\b.*--uid\s+%s\b" % re.escape(user.split(":")[0]), final_text),
          "USER %s is created in the runtime stage" % user)
    check(last_of("STOPSIGNAL") == "SIGTERM", "STOPSIGNAL SIGTERM")
    hc = re.fullmatch(r"((?:--[a-z-]+=\S+\s+)*)CMD\s+(\[.*\])", last_of("HEALTHCHECK"))
    check(hc is not None and json.loads(hc.group(2)) == ["roster", "health"],
          'HEALTHCHECK CMD ["roster","health"]')
    entry = last_of("ENTRYPOINT")
    check(entry.startswith("[") and json.loads(entry) == ["roster"],
          'ENTRYPOINT ["roster"] (exec form: roster is PID 1)')
    check(not any(re.search(r"\btini\b|dumb-init", a, re.I) for _, _, a in ins),
          "no tini or dumb-init: roster reaps and handles signals as PID 1")
    workdir = last_of("WORKDIR")
    conf = [a.split() for a in copies if "config" in a and "--from=%s" % build_name in a]
    check(len(conf) == 1, "config/ is copied into the runtime stage")
    dest = conf[0][-1]
    dest = dest if dest.startswith("/") else os.path.join(workdir, dest)
    check(os.path.normpath(dest) == os.path.join(workdir, "config") and
          conf[0][-2].rstrip("/").endswith("/config"),
          "config/ lands in WORKDIR/config, where the default lookup finds config/roster.yaml")
    ignore = open(os.path.join(ROOT, ".dockerignore")).read().split()
    check("build" in ignore and ".git" in ignore and any(i.startswith("build-") for i in ignore),
          ".dockerignore keeps host build directories out of the context")


def test_node_dockerfile():
    ins = dockerfile_instructions(NODE_DOCKERFILE)
    defaults = dict(a.split("=", 1) for st, i, a in ins if st == -1 and i == "ARG" and "=" in a)
    froms = [re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), "?"), a)
             for _, i, a in ins if i == "FROM"]
    check(len(froms) == 3, "three stages (roster, app build, runtime): %r" % froms)
    check(all(re.match(r"docker\.io/library/(debian|node):\S*trixie", f) for f in froms),
          "Debian 13 in every stage (hiredis with TLS for rediss://): %r" % froms)
    names = [(f.split() + ["", ""])[2] for f in froms]

    def stage(n, instr):
        return [a for st, i, a in ins if st == n and i == instr]
    cmds = [shell_commands(a) for a in stage(0, "RUN")]
    cmds = [c for cs in cmds for c in cs]
    inst, bld = script_runs(cmds, "install-deps.sh"), script_runs(cmds, "build.sh")
    check(inst and bld and inst[0] < bld[0], "roster stage: install-deps.sh, then build.sh: %r" % cmds)
    check(any(re.search(r"scripts/runtime-deps\.sh\s+build/roster\s*>", c) for c in cmds),
          "roster stage: runtime-deps.sh lists the runtime packages")
    app = [c for a in stage(1, "RUN") for c in shell_commands(a)]
    order = [next((k for k, c in enumerate(app) if c.startswith(w)), -1)
             for w in ("npm ci", "npm run build", "npm prune --omit=dev")]
    check(-1 not in order and order == sorted(order),
          "app stage: npm ci (dev dependencies), npm run build, npm prune --omit=dev: %r" % app)
    final = [(i, a) for st, i, a in ins if st == 2]
    text = "\n".join(a for _, a in final)
    check(not re.search(r"\S+-dev\b|build-essential|install-deps\.sh|npm ci", text),
          "the runtime stage installs no build tools")
    copies = [a for i, a in final if i == "COPY"]
    check(any("--from=%s" % names[0] in a and a.split()[-1].startswith("/usr/local/bin")
              for a in copies), "roster is copied onto the PATH from the roster stage")
    for what in ("node_modules", "dist"):
        check(any("--from=%s" % names[1] in a and what in a for a in copies),
              "%s comes from the app stage" % what)
    check(any(a.split()[0] == "roster.yaml" for a in copies), "roster.yaml is copied")
    last = {i: a for i, a in final}
    check(last.get("USER") == "node", "USER node (the Node images' uid 1000): %r" % last.get("USER"))
    check(json.loads(last.get("ENTRYPOINT", "null")) == ["roster"], 'ENTRYPOINT ["roster"]')
    check(last.get("STOPSIGNAL") == "SIGTERM", "STOPSIGNAL SIGTERM")
    check(re.search(r'CMD \["roster",\s*"health"\]$', last.get("HEALTHCHECK", "")),
          'HEALTHCHECK CMD ["roster","health"]')

    pkg = json.load(open(os.path.join(NODE_APP, "package.json")))
    check(pkg["scripts"]["build"] == "tsc" and "typescript" in pkg.get("devDependencies", {}) and
          "typescript" not in pkg.get("dependencies", {}),
          "examples/node-app builds with tsc from a dev dependency")
    lock = json.load(open(os.path.join(NODE_APP, "package-lock.json")))
    check(lock["packages"]["node_modules/typescript"].get("dev") is True,
          "package-lock.json (npm ci needs it) has typescript as a dev dependency")
    path = os.path.join(NODE_APP, "roster.yaml")
    plan, _ = check_as_deployed(path, {"PORT": "8080"}, what="examples/node-app")
    check(sorted(plan["roles"]) == ["api", "worker"], "examples/node-app: roles api, worker")
    code, out, err = roster_check(path, env_without([]), "worker")
    check(code == 0, "examples/node-app: roster check --role worker: %s" % err)
    check(any(a.split()[:2] == ["roster.yaml", "roster.builtin.yaml"] for a in copies),
          "roster.builtin.yaml is copied beside roster.yaml")


def test_node_app_builtin_variant():
    """examples/node-app/roster.builtin.yaml: the Node api, and roster's built-in worker (http
    handlers into the api, signed) and scheduler in place of Node ones."""
    path = os.path.join(NODE_APP, "roster.builtin.yaml")
    deployed = {"PORT": "8080", "REDIS_URL": REDIS_PLAIN, "JOB_SECRET": "whsec_test"}
    plan, full = check_as_deployed(path, deployed, what="examples/node-app/roster.builtin.yaml")
    check(plan["roles"] == {"api": "service", "worker": "service", "scheduler": "service"},
          "roles api, worker, scheduler: %r" % plan["roles"])
    code, out, err = roster_check(path, full)
    for line in ("    builtin: worker (", "    builtin: scheduler (", "signed timeout",
                 "enqueue default report"):
        check(line in out, "roster check shows %r:\n%s" % (line, out))
    check(not re.search(r"^  \S+ \(service\)\n    command: node dist/worker\.js", out, re.M),
          "no Node worker in the variant")
    check_app_urls(path, full, None, {"127.0.0.1:8080"}, "roster.builtin.yaml")
    for role in ("api", "worker", "scheduler"):
        checked_plan(path, full, role=role)
    # the signing secret and Redis are required, each named when missing
    for var in ("JOB_SECRET", "REDIS_URL"):
        env = env_without({var})
        env.update({k: v for k, v in deployed.items() if k != var})
        code, out, err = roster_check(path, env)
        check(code == 2 and var in err, "without %s: exit %d %s" % (var, code, err))
    # the api verifies what the worker signs: the verifier follows the README's scheme
    api = open(os.path.join(NODE_APP, "src", "api.ts")).read()
    for what in ('createHmac("sha256", secret)', "timingSafeEqual", "roster-signature",
                 "/internal\\/jobs\\/"):
        check(what in api, "src/api.ts: %s" % what)


# ---- scripts/runtime-deps.sh -----------------------------------------------------------------

def ldd_paths(binary, env=None):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, env=env,
                         check=True).stdout
    paths = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            paths.append(m.group(1))
    return paths


def test_runtime_deps():
    check(shutil.which("dpkg") and shutil.which("ldd"), "a Debian system with dpkg and ldd")
    binary = os.path.abspath(ROSTER if os.path.sep in ROSTER else shutil.which(ROSTER))
    p = subprocess.run(["sh", RUNTIME_DEPS, binary], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "runtime-deps.sh %s failed: %s" % (binary, p.stderr))
    pkgs = p.stdout.split()
    check(pkgs == sorted(set(pkgs)), "sorted, one per line, no duplicates")
    for pkg in pkgs:
        check(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", pkg), "%r is a Debian package name" % pkg)
        st = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True,
                            text=True)
        check(st.returncode == 0 and st.stdout == "install ok installed",
              "%s is an installed package (%r)" % (pkg, st.stdout or st.stderr))
    for prefix in ("libc6", "libuv1", "libhiredis", "libpq5", "libyaml-0-2", "libmicrohttpd",
                   "libcurl", "libcjson"):
        check(any(p_.startswith(prefix) for p_ in pkgs), "a %s package is listed: %r" % (prefix,
                                                                                      pkgs))
    # independently: every library the loader maps is a file of a listed package
    listed = set()
    for pkg in pkgs:
        files = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True).stdout
        listed |= {os.path.realpath(f) for f in files.split("\n") if f.startswith("/")}
    for lib in ldd_paths(binary):
        check(os.path.realpath(lib) in listed, "%s is shipped by a listed package" % lib)
    # a library from outside the package manager is an error, not a silent omission
    d = tmpdir()
    victim = [l for l in ldd_paths(binary) if "libuv.so" in l or "libyaml" in l][0]
    shutil.copy(victim, os.path.join(d, os.path.basename(victim)))
    env = dict(os.environ, LD_LIBRARY_PATH=d)
    p = subprocess.run(["sh", RUNTIME_DEPS, binary], capture_output=True, text=True, env=env,
                       timeout=120)
    check(p.returncode == 1 and "no Debian package ships" in p.stderr and d in p.stderr,
          "a library copied by hand is reported (exit %d): %s" % (p.returncode, p.stderr))
    p = subprocess.run(["sh", RUNTIME_DEPS, os.path.join(d, "nonexistent")], capture_output=True,
                       text=True)
    check(p.returncode == 2 and "no such file" in p.stderr, "a missing binary: %s" % p.stderr)


run(globals())
