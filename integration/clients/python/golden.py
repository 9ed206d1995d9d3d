"""Runs the golden cases through PyMySQL or SQLAlchemy (over PyMySQL) and prints the answers.

Usage: golden.py pymysql|sqlalchemy < input.json > answers.json

Input: {"host", "port", "user", "password", "database", "cases": [{"name", "statements":
[{"text_sql", ...}]}]}. Output: {"cases": [[answer, ...], ...]} where an answer is
{"kind": "rows", "columns": [...], "rows": [[cell or null, ...]]}, {"kind": "ok"} or
{"kind": "error", "code": n, "state": "HY000", "message": "..."}. Cells are text: values the
driver converted (Decimal, datetime, bytes) are turned back into MySQL's spelling. Each case runs
on a fresh connection (autocommit on, so the driver sends no SET autocommit of its own).
"""

import datetime
import decimal
import json
import sys

import pymysql


def cell(value):
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8")
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, decimal.Decimal, int, str)):
        return str(value)
    if isinstance(value, datetime.timedelta):
        total = int(value.total_seconds())
        sign = "-" if total < 0 else ""
        total = abs(total)
        return "%s%02d:%02d:%02d" % (sign, total // 3600, total // 60 % 60, total % 60)
    return repr(value)


def error_answer(exc):
    code = exc.args[0] if exc.args else 0
    message = exc.args[1] if len(exc.args) > 1 else str(exc)
    return {"kind": "error", "code": code, "state": getattr(exc, "sqlstate", None) or "",
            "message": message}


def rows_answer(description, rows):
    if description is None:
        return {"kind": "ok"}
    return {
        "kind": "rows",
        "columns": [d[0] for d in description],
        "rows": [[cell(v) for v in row] for row in rows],
    }


def run_pymysql(cfg, case):
    conn = pymysql.connect(host=cfg["host"], port=cfg["port"], user=cfg["user"],
                           password=cfg["password"], database=cfg["database"],
                           charset="utf8mb4", autocommit=True)
    answers = []
    try:
        for stmt in case["statements"]:
            cur = conn.cursor()
            try:
                cur.execute(stmt["text_sql"])
                answers.append(rows_answer(cur.description, cur.fetchall()))
            except pymysql.err.MySQLError as exc:
                answers.append(error_answer(exc))
            finally:
                cur.close()
    finally:
        conn.close()
    return answers


def run_sqlalchemy(cfg, case):
    import sqlalchemy
    from sqlalchemy import exc as sa_exc

    url = sqlalchemy.engine.URL.create(
        "mysql+pymysql", username=cfg["user"], password=cfg["password"], host=cfg["host"],
        port=cfg["port"], database=cfg["database"], query={"charset": "utf8mb4"})
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    answers = []
    try:
        with engine.connect() as conn:
            for stmt in case["statements"]:
                try:
                    # exec_driver_sql hands PyMySQL an (empty) parameter tuple, so PyMySQL
                    # applies `%` formatting: a literal `%` must be written `%%`.
                    result = conn.exec_driver_sql(stmt["text_sql"].replace("%", "%%"))
                    if result.returns_rows:
                        columns = list(result.keys())
                        rows = result.fetchall()
                        answers.append({
                            "kind": "rows",
                            "columns": columns,
                            "rows": [[cell(v) for v in row] for row in rows],
                        })
                    else:
                        answers.append({"kind": "ok"})
                except sa_exc.DBAPIError as exc:
                    answers.append(error_answer(exc.orig))
    finally:
        engine.dispose()
    return answers


def main():
    mode = sys.argv[1]
    cfg = json.load(sys.stdin)
    run = {"pymysql": run_pymysql, "sqlalchemy": run_sqlalchemy}[mode]
    out = {"cases": [run(cfg, case) for case in cfg["cases"]]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
