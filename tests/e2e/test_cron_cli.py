"""roster cron EXPR: next fire times printed with the zone's offset, and exit 2 with the error
on stderr for a bad expression, zone or time (issue 12)."""
import datetime as dt
import os

from harness import check, run, run_roster, tmpdir

HAVE_TZDATA = os.path.exists("/usr/share/zoneinfo/America/Toronto")


def cron(*args, env=None):
    return run_roster(["cron"] + list(args), env=env, timeout=20)


def test_issue_examples():
    if not HAVE_TZDATA:
        print("SKIP test_issue_examples: no tzdata")
        return
    # The issue's two DST rules, as written there.
    code, out, err = cron("30 2 * * *", "--tz", "America/Toronto", "--from",
                          "2026-03-07T12:00:00Z", "--count", "2")
    check(code == 0, err)
    check(out.splitlines() == ["2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"], out)
    code, out, err = cron("30 1 * * *", "--tz", "America/Toronto", "--from",
                          "2026-10-31T21:00:00-04:00", "--count", "2")
    check(code == 0, err)
    check(out.splitlines() == ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"], out)
    # A wildcard job goes through the repeated hour twice.
    code, out, err = cron("0 * * * *", "--tz", "America/Toronto", "--from",
                          "2026-11-01T04:30:00Z", "--count", "3")
    check(out.splitlines() == ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00",
                               "2026-11-01T02:00:00-05:00"], out)


def test_default_count_zone_and_now():
    before = dt.datetime.now(dt.timezone.utc)
    code, out, err = cron("@every 1s", env={"TZ": ""})
    lines = out.splitlines()
    check(code == 0 and len(lines) == 5, (code, out, err))
    times = [dt.datetime.fromisoformat(s) for s in lines]
    check(all(s.endswith("+00:00") for s in lines), out)  # no TZ: UTC
    check(times[0] > before - dt.timedelta(seconds=1), (before, out))
    check(all(b - a == dt.timedelta(seconds=1) for a, b in zip(times, times[1:])), out)
    if HAVE_TZDATA:  # TZ from the environment, also in its ":Zone" spelling
        code, out, err = cron("0 12 * * *", "--from", "2026-06-01T00:00:00Z", "--count", "1",
                              env={"TZ": ":Asia/Kolkata"})
        check(out.strip() == "2026-06-01T12:00:00+05:30", (out, err))
        code, out, err = cron("0 12 * * *", "--from", "2026-06-01T00:00:00Z", "--count", "1",
                              "--tz", "UTC", env={"TZ": "Asia/Kolkata"})
        check(out.strip() == "2026-06-01T12:00:00+00:00", (out, err))


def test_errors_exit_2():
    code, out, err = cron("0 0 * * MON,FOO")
    check(code == 2 and out == "", (code, out))
    check("column 13: day-of-week: not a number nor a name" in err, err)
    check("  0 0 * * MON,FOO\n" + " " * 14 + "^" in err, err)  # a caret under the bad item
    code, _, err = cron("0 24 * * *")
    check(code == 2 and "column 3: hour: value out of range (0-23)" in err, err)
    code, _, err = cron("* * * *")
    check(code == 2 and "too few fields" in err, err)
    code, _, err = cron("@every 500ms")
    check(code == 2 and "@every takes a duration of whole seconds" in err, err)
    code, _, err = cron("0 0 30 2 *")
    check(code == 2 and "never occurs" in err, err)
    code, out, err = cron("* * * * *", "--tz", "Nowhere/Land")
    check(code == 2 and out == "" and "time zone 'Nowhere/Land': unknown time zone" in err, err)
    code, _, err = cron("* * * * *", "--tz", "../../etc/passwd")
    check(code == 2 and "not a time zone name" in err, err)
    code, _, err = cron("* * * * *", "--from", "2026-03-08T07:30:00")
    check(code == 2 and "not an ISO-8601 time with an offset" in err, err)
    code, _, err = cron("* * * * *", "--count", "0")
    check(code == 2 and "--count must be a number from 1 to 1000" in err, err)
    code, _, err = cron()
    check(code == 2 and "'cron' needs an expression" in err, err)
    code, _, err = run_roster(["status", "--tz", "UTC"], timeout=20)
    check(code == 2 and "--tz is for `roster cron`" in err, err)
    code, _, err = run_roster(["status", "--count", "2"], timeout=20)
    check(code == 2 and "--from and --count are for `roster cron` and `roster schedules`" in err,
          err)


def test_tzdir():
    """TZDIR moves the tzdata for `roster cron`, `roster check` and the scheduler role alike; a
    zone missing there is an error naming the zone and the folder searched."""
    if not HAVE_TZDATA:
        print("SKIP test_tzdir: no tzdata")
        return
    empty, one = tmpdir(), tmpdir()
    os.makedirs(os.path.join(one, "America"))
    for name in ("America/Toronto", "UTC"):
        with open("/usr/share/zoneinfo/" + name, "rb") as src, \
                open(os.path.join(one, name), "wb") as dst:
            dst.write(src.read())
    # honoured: a folder with Toronto alone has Toronto, and not Berlin
    code, out, err = cron("0 3 * * *", "--tz", "America/Toronto", "--from",
                          "2026-07-01T12:00:00Z", "--count", "1", env={"TZDIR": one})
    check(code == 0 and out == "2026-07-02T03:00:00-04:00\n", (code, out, err))
    code, out, err = cron("@daily", "--tz", "Europe/Berlin", env={"TZDIR": one})
    check(code == 2 and err.strip() == "roster cron: time zone 'Europe/Berlin': unknown time "
          "zone: no such zone in %s (TZDIR)" % one, (code, err))
    # no zone files at all (the image without tzdata): said, with where it looked
    code, out, err = cron("@daily", "--tz", "America/Toronto", env={"TZDIR": empty})
    check(code == 2 and err.strip() == "roster cron: time zone 'America/Toronto': no tzdata in %s "
          "(TZDIR): fix TZDIR, or install the tzdata package" % empty, (code, err))
    # roster check reads the zone where the scheduler role will (it failed only at run time)
    d = tmpdir()
    path = os.path.join(d, "roster.yaml")
    with open(path, "w") as f:
        f.write("roles:\n  scheduler:\n    builtin: scheduler\n    schedules:\n"
                "      a: {cron: \"0 3 * * *\", tz: America/Toronto, command: \"true\"}\n")
    code, out, err = run_roster(["check", "-c", path], env={"TZDIR": empty}, cwd=d)
    check(code == 2 and "roster.yaml:5:34: schedule 'a': tz 'America/Toronto': no tzdata in %s "
          "(TZDIR): fix TZDIR, or install the tzdata package" % empty in err, (code, err))
    code, out, err = run_roster(["check", "-c", path], env={"TZDIR": one}, cwd=d)
    check(code == 0, (code, err))


def test_help_lists_cron():
    code, out, _ = run_roster(["--help"], timeout=20)
    check(code == 0 and "roster cron EXPR [--tz ZONE] [--from TIME] [--count N]" in out, out)
    code, _, err = run_roster(["crom"], timeout=20)
    check(code == 2 and "did you mean 'cron'?" in err, err)


SCHEDULER = """
roles:
  web:
    command: [sleep, "1000"]
  scheduler:
    builtin: scheduler
    schedules:
      nightly: {cron: "30 2 * * *", tz: America/Toronto, http: "POST http://127.0.0.1:3000/run"}
      beat: {cron: "@every 30s", command: [echo, hi], timeout: 10s}
"""


def scheduler_config(text=SCHEDULER):
    path = os.path.join(tmpdir(), "roster.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_schedules_command():
    if not HAVE_TZDATA:
        print("SKIP test_schedules_command: no tzdata")
        return
    path = scheduler_config()
    code, out, err = run_roster(["schedules", "-c", path, "--from", "2026-03-07T12:00:00Z",
                                 "--count", "2"], env={"TZ": "Asia/Kolkata"}, timeout=20)
    check(code == 0, err)
    check(out.splitlines() == [
        'scheduler/nightly: "30 2 * * *" in America/Toronto, http POST http://127.0.0.1:3000/run',
        "  2026-03-08T03:30:00-04:00",
        "  2026-03-09T02:30:00-04:00",
        'scheduler/beat: "@every 30s" in Asia/Kolkata, command echo hi',
        "  2026-03-07T17:30:30+05:30",
        "  2026-03-07T17:31:00+05:30",
    ], out)


def test_check_shows_schedules():
    if not HAVE_TZDATA:
        print("SKIP test_check_shows_schedules: no tzdata")
        return
    path = scheduler_config()
    code, out, err = run_roster(["check", "-c", path], timeout=20)
    check(code == 0, err)
    check("    builtin: scheduler (2 schedules)\n"
          '    schedule nightly: cron "30 2 * * *" tz America/Toronto: http POST '
          "http://127.0.0.1:3000/run\n" in out, out)
    check('    schedule beat: cron "@every 30s" tz (TZ, else UTC) timeout 10s: command echo hi\n'
          in out, out)
    # test_scheduler.py runs them; overlap: allow is shown
    path = scheduler_config(SCHEDULER.replace("timeout: 10s", "timeout: 10s, overlap: allow"))
    code, out, err = run_roster(["check", "-c", path], timeout=20)
    check(code == 0 and " timeout 10s overlap allow: command echo hi\n" in out, (out, err))
    # A plan that is counted, not run, has it (and its Postgres share).
    path = scheduler_config("postgres: {url: postgres://app@127.0.0.1:1/app}\n" + SCHEDULER)
    code, out, err = run_roster(["budget", "-c", path, "--max-connections", "50"], timeout=20)
    check(code == 0 and "scheduler" in out, (out, err))


def test_schedule_errors_point_at_the_field():
    path = scheduler_config(SCHEDULER.replace('"30 2 * * *"', '"30 2 * * FOO"'))
    for cmd in (["check"], ["schedules"]):
        code, out, err = run_roster(cmd + ["-c", path], timeout=20)
        check(code == 2, (cmd, out, err))
        check("roster.yaml:8:33: schedule 'nightly': cron '30 2 * * FOO': day-of-week" in err,
              (cmd, err))


if __name__ == "__main__":
    run(globals())
