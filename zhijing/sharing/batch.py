"""Batch comparison (比对): a department uploads a list (CSV or Excel, up to 10⁶ rows) of
names and citizen IDs; a background job compares it with the serving store and writes a
file of match flags and the contract's fields (masked above the caller's clearance).

The upload is checked before anything is kept (its size, its format, a name and an ID
column): a bad file is one line of error and is deleted. The job spends the rows from the
contract's quota, runs in chunks (progress after each), and deletes the upload when it ends;
the result file is deleted ``batch_retention_hours`` after. Both are files of the state
folder (0600), never in a database.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from zhijing.access.masking import mask_sql, mask_value, watermark
from zhijing.access.models import CLEARANCE
from zhijing.errors import NotFound, ZhijingError
from zhijing.serving import store
from zhijing.sharing import changes, contracts, service
from zhijing.sharing.contracts import FIELDS, Contract, engine, metadata
from zhijing.sharing.usage import meter
from zhijing.standards import citizen_id as cid

log = logging.getLogger(__name__)
CHUNK = 100_000  # rows compared per step (progress is written after each)
NAMES = ("姓名", "name", "xm")
IDS = ("公民身份号码", "身份证号", "身份证号码", "证件号码", "citizen_id", "gmsfhm", "sfzh")
FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx"}

batches = sa.Table(
    "sh_batches", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("contract_id", sa.Integer, nullable=False, index=True),
    sa.Column("department", sa.String(32), nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("token", sa.String(32), nullable=False),  # the files' name (never the uploaded name)
    sa.Column("format", sa.String(8), nullable=False),
    sa.Column("clearance", sa.Integer, nullable=False),  # of the requester: what the result masks
    sa.Column("status", sa.String(12), nullable=False),  # queued | running | done | failed | purged
    sa.Column("rows", sa.BigInteger), sa.Column("done", sa.BigInteger, nullable=False, default=0),
    sa.Column("matched", sa.BigInteger), sa.Column("found", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("purge_after", sa.DateTime(timezone=True)),
)  # fmt: skip

COLUMNS = [c.name for c in batches.columns if c.name != "token"]


def folder(settings) -> Path:
    d = settings.state_dir / "sharing" / "batches"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _files(settings, token: str) -> dict[str, Path]:
    d = folder(settings)
    return {"upload": d / f"{token}.upload", "result": d / f"{token}.result.csv", "masters": d / f"{token}.masters"}


def _header(path: Path, fmt: str) -> list[str]:
    if fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(path.read_bytes()), read_only=True)  # by content: the file has no .xlsx name
        try:
            first = next(wb.worksheets[0].iter_rows(max_row=1, values_only=True), ())
        finally:
            wb.close()
        return [str(v or "").strip() for v in first]
    with path.open("rb") as fh:
        head = fh.read(4096)
    text = head.decode("utf-8-sig", errors="strict") if _utf8(head) else head.decode("gb18030", errors="replace")
    return next(csv.reader(io.StringIO(text.splitlines()[0] if text else "")), [])


def _utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut by the 4,096-byte window
    return True


def _columns(header: list[str]) -> tuple[int, int]:
    low = [h.strip().lower() for h in header]
    name = next((i for i, h in enumerate(low) if h in NAMES), None)
    ident = next((i for i, h in enumerate(low) if h in IDS), None)
    if name is None or ident is None:
        raise ZhijingError("the file needs a header row with a name column (姓名) and an ID column (公民身份号码)")
    return name, ident


def accept(settings, contract: Contract, caller: service.Caller, filename: str, chunks: Iterator[bytes]) -> dict:
    """Keep an upload and queue its job, or refuse it with one line and keep nothing."""
    fmt = FORMATS.get(Path(filename).suffix.lower())
    if fmt is None:
        raise ZhijingError("upload a .csv or .xlsx file")
    token = uuid.uuid4().hex
    files = _files(settings, token)
    size, limit = 0, settings.sharing.batch_max_bytes
    try:
        with files["upload"].open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ZhijingError(f"the file is larger than {limit} bytes")
                out.write(chunk)
        if size == 0:
            raise ZhijingError("the file is empty")
        try:
            _columns(_header(files["upload"], fmt))
        except ZhijingError:
            raise
        except Exception:  # noqa: BLE001 — whatever the parser says, the answer is one line
            raise ZhijingError(f"the file is not a readable {fmt.upper()} file") from None
    except BaseException:
        files["upload"].unlink(missing_ok=True)
        raise
    with engine(settings).begin() as conn:
        job = conn.execute(sa.insert(batches).values(
            contract_id=contract.id, department=contract.department, requested_by=caller.username, filename=filename[:200],
            token=token, format=fmt, clearance=caller.clearance, status="queued", done=0,
            created_at=datetime.now(UTC))).inserted_primary_key[0]  # fmt: skip
    return get(settings, job)


def start(settings, job_id: int) -> threading.Thread:
    t = threading.Thread(target=run, args=(settings, job_id), name=f"sharing-batch-{job_id}", daemon=True)
    t.start()
    return t


def _row(r) -> dict:
    return {c: getattr(r, c) for c in COLUMNS}


def get(settings, job_id: int) -> dict:
    with engine(settings).connect() as conn:
        r = conn.execute(sa.select(batches).where(batches.c.id == job_id)).first()
    if r is None:
        raise NotFound("no such batch job")
    return _row(r)


def listed(settings, contract_id: int | None = None, limit: int = 200) -> list[dict]:
    q = sa.select(batches).order_by(batches.c.id.desc()).limit(limit)
    if contract_id is not None:
        q = q.where(batches.c.contract_id == contract_id)
    with engine(settings).connect() as conn:
        return [_row(r) for r in conn.execute(q)]


def _set(settings, job_id: int, **values) -> None:
    with engine(settings).begin() as conn:
        conn.execute(sa.update(batches).where(batches.c.id == job_id).values(**values))


def _token(settings, job_id: int) -> str:
    with engine(settings).connect() as conn:
        return conn.execute(sa.select(batches.c.token).where(batches.c.id == job_id)).scalar_one()


def persons_table(settings, fields: tuple[str, ...]) -> pa.Table:
    """Every citizen ID the serving store knows, with its person's facts (and extras the fields need)."""
    extras = any(f in ("household", "vehicles") for f in fields)
    sql = ("SELECT k.value, p.master_id, p.name, p.sex, p.birth_date, p.phone, p.district, p.mentions, p.citizen_id"
           + (", e.household, e.vehicles" if extras else "") + " FROM person_keys k JOIN persons p ON p.master_id = k.master_id"
           + (" LEFT JOIN person_extras e ON e.master_id = p.master_id" if extras else "") + " WHERE k.kind = 'citizen_id'")  # fmt: skip
    names = ["key", "master_id", "p_name", "p_sex", "p_birth_date", "p_phone", "p_district", "mentions", "p_citizen_id"] + (
        ["p_household", "p_vehicles"] if extras else [])
    with store.connect(settings) as conn:
        result = conn.exec_driver_sql(sql)
        parts = []
        while rows := result.fetchmany(200_000):
            parts.append(pa.table(dict(zip(names, (list(c) for c in zip(*rows, strict=True)), strict=True)),
                                  schema=pa.schema([(n, pa.int64() if n == "mentions" else pa.string()) for n in names])))  # fmt: skip
    if not parts:
        return pa.table({n: pa.array([], pa.int64() if n == "mentions" else pa.string()) for n in names})
    return pa.concat_tables(parts)


def _valid(raw: str | None) -> str | None:
    n = cid.normalize(raw)
    return n.value if n.ok else None


def _udfs(con: duckdb.DuckDBPyConnection) -> None:
    con.create_function("zj_valid_id", _valid, ["VARCHAR"], "VARCHAR", null_handling="special", side_effects=False)
    con.create_function("zj_mask", lambda v, kind: mask_value(v, kind), ["VARCHAR", "VARCHAR"], "VARCHAR",
                        null_handling="special", side_effects=False)  # fmt: skip


def _load_upload(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> None:
    header = _header(path, fmt)
    name, ident = _columns(header)
    if fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(path.read_bytes()), read_only=True)  # by content: the file has no .xlsx name
        try:
            rows = [(str(r[name] if r[name] is not None else ""), str(r[ident] if r[ident] is not None else ""))
                    for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True) if len(r) > max(name, ident)]  # fmt: skip
        finally:
            wb.close()
        con.register("xl", pa.table({"name": [r[0] for r in rows], "citizen_id": [r[1] for r in rows]}))
        con.execute("CREATE TABLE up AS SELECT row_number() OVER () AS row_no, name, citizen_id FROM xl")
        return
    with path.open("rb") as fh:
        enc = "utf-8" if _utf8(fh.read(4096)) else "gb18030"
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    con.execute(f"""CREATE TABLE up AS SELECT row_number() OVER () AS row_no, c{name} AS name, c{ident} AS citizen_id
                    FROM read_csv(?, header = true, columns = {{{cols}}}, encoding = '{enc}', quote = '"', escape = '"',
                                  strict_mode = false, null_padding = true)""", [str(path)])  # fmt: skip


def _result_sql(fields: tuple[str, ...], clearance: int, lo: int, hi: int) -> str:
    def shown(f: str) -> str:
        col = f"p.p_{f}" if f not in ("living",) else "CASE WHEN p.master_id IS NULL THEN NULL WHEN d.id IS NULL THEN '在世' ELSE '死亡' END"
        if f == "vehicles":
            col = "p.p_vehicles"
        if CLEARANCE[FIELDS[f].grade] > clearance and f != "living":
            col = mask_sql(col, FIELDS[f].element) or f"zj_mask({col}, '{FIELDS[f].element}')"  # in SQL where it can be
        return f'{col} AS "{FIELDS[f].title}"'

    neutral = "CASE WHEN left(u.{0}, 1) IN ('=', '+', '-', '@') THEN '''' || u.{0} ELSE u.{0} END"
    differs = ("concat_ws(',', CASE WHEN upper(replace(trim(u.name), ' ', '')) <> upper(replace(trim(p.p_name), ' ', '')) "
               "THEN 'name' END, CASE WHEN d.id IS NOT NULL THEN 'living' END)")  # fmt: skip
    return f"""
      SELECT u.row_no AS "行号", {neutral.format("name")} AS "提交姓名", {neutral.format("citizen_id")} AS "提交身份号码",
             CASE WHEN u.id IS NULL THEN '号码无效' WHEN p.master_id IS NULL THEN '查无此人'
                  WHEN {differs} = '' THEN '一致' ELSE '不一致' END AS "核查结果",
             CASE WHEN u.id IS NULL THEN 'citizen_id' WHEN p.master_id IS NULL THEN 'citizen_id' ELSE {differs} END AS "不一致项"
             {"".join(", " + shown(f) for f in fields)},
             p.master_id AS _master
      FROM (SELECT *, CASE WHEN k IN (SELECT key FROM people) THEN k ELSE zj_valid_id(citizen_id) END AS id  -- the standard's check only where no key matches as given
            FROM (SELECT *, upper(trim(citizen_id)) AS k FROM up WHERE row_no > {lo} AND row_no <= {hi})) u
      LEFT JOIN people p ON p.key = u.id LEFT JOIN dead d ON d.id = u.id ORDER BY u.row_no"""


def run(settings, job_id: int) -> None:
    """The job: read the upload, spend its rows from the quota, compare chunk by chunk, write
    the result, delete the upload. A failure is one line on the job, and nothing is kept."""
    token = _token(settings, job_id)
    files = _files(settings, token)
    job = get(settings, job_id)
    con = duckdb.connect()
    try:
        _set(settings, job_id, status="running")
        contract = contracts.get(settings, job["contract_id"])
        _udfs(con)
        try:
            _load_upload(con, files["upload"], job["format"])
        except ZhijingError:
            raise
        except Exception:  # noqa: BLE001 — a malformed file: one line, never the parser's trace
            raise ZhijingError(f"the file is not a readable {job['format'].upper()} file") from None
        finally:
            files["upload"].unlink(missing_ok=True)  # read into the job's memory: the upload is kept no longer
        rows = con.execute("SELECT count(*) FROM up").fetchall()[0][0]
        if rows == 0:
            raise ZhijingError("the file has no rows below its header")
        if rows > settings.sharing.batch_max_rows:
            raise ZhijingError(f"the file has {rows} rows: at most {settings.sharing.batch_max_rows}")
        _set(settings, job_id, rows=rows)
        if contract.state() != "active":
            raise ZhijingError(f"the contract is {contract.state()}")
        service.spend(settings, contract, "batch", rows)
        con.register("people_in", persons_table(settings, contract.fields))
        con.execute("""CREATE TABLE people AS SELECT * FROM people_in
                       QUALIFY row_number() OVER (PARTITION BY key ORDER BY (p_citizen_id = key) DESC, mentions DESC, master_id) = 1""")
        con.execute("CREATE TABLE dead (id VARCHAR)")
        ids = [r[0] for r in con.execute("SELECT DISTINCT key FROM people").fetchall()]
        dead = [d for i in range(0, len(ids), 5000) for d in changes.deceased(settings, ids[i:i + 5000])]
        if dead:
            con.register("dead_in", pa.table({"id": dead}))
            con.execute("INSERT INTO dead SELECT id FROM dead_in")
        found = matched = 0
        part = files["result"].with_suffix(".part")
        piece = part.with_suffix(".piece")
        mark = watermark(job["requested_by"], contract.ref)
        with part.open("wb") as out, files["masters"].open("w") as masters:
            out.write(f"\ufeff# {mark} 比对任务 {job_id}\r\n".encode())
            for lo in range(0, rows, CHUNK):
                con.execute(f"CREATE OR REPLACE TEMP TABLE r AS {_result_sql(contract.fields, job['clearance'], lo, lo + CHUNK)}")
                con.execute(f"COPY (SELECT * EXCLUDE (_master) FROM r ORDER BY \"行号\") TO '{piece}' "
                            f"(FORMAT csv, HEADER {'true' if lo == 0 else 'false'}, NEW_LINE '\\r\\n')")  # fmt: skip
                with piece.open("rb") as fh:
                    shutil.copyfileobj(fh, out)
                got = [m for (m,) in con.execute("SELECT _master FROM r WHERE _master IS NOT NULL ORDER BY \"行号\"").fetchall()]
                masters.write("".join(m + "\n" for m in got))
                found += len(got)
                matched += con.execute("SELECT count(*) FROM r WHERE \"核查结果\" = '一致'").fetchall()[0][0]
                _set(settings, job_id, done=min(rows, lo + CHUNK))
            out.write(f"# {mark} 共 {rows} 行\r\n".encode())
        piece.unlink(missing_ok=True)
        part.replace(files["result"])
        meter(settings).count(settings, contract.id, "batch", calls=rows, hits=matched)
        now = datetime.now(UTC)
        _set(settings, job_id, status="done", done=rows, matched=matched, found=found, finished_at=now,
             purge_after=now + timedelta(hours=settings.sharing.batch_retention_hours))  # fmt: skip
    except Exception as exc:  # noqa: BLE001 — the job's one line; the files go
        for f in ("result", "masters"):
            files[f].unlink(missing_ok=True)
        for suffix in (".part", ".piece"):
            files["result"].with_suffix(suffix).unlink(missing_ok=True)
        reason = str(exc) if isinstance(exc, ZhijingError) else f"the comparison failed ({type(exc).__name__})"
        if not isinstance(exc, ZhijingError):
            log.exception("batch comparison %s failed", job_id)
        _set(settings, job_id, status="failed", error=reason[:300], finished_at=datetime.now(UTC))
    finally:
        con.close()
        files["upload"].unlink(missing_ok=True)


def result(settings, job_id: int) -> tuple[Path, list[str]]:
    """The result file and the master ids it discloses (for the audit of its download)."""
    job = get(settings, job_id)
    if job["status"] != "done":
        raise ZhijingError(f"the job is {job['status']}: no result to download")
    files = _files(settings, _token(settings, job_id))
    if not files["result"].exists():
        raise NotFound("the result was deleted")
    return files["result"], files["masters"].read_text().split()


def purge(settings, now: datetime | None = None) -> int:
    """Delete uploads and results past their retention; the job row stays (status purged)."""
    now = now or datetime.now(UTC)
    with engine(settings).connect() as conn:
        due = conn.execute(sa.select(batches.c.id, batches.c.token).where(
            batches.c.status.in_(["done", "failed"]), batches.c.purge_after.is_not(None), batches.c.purge_after <= now)).all()  # fmt: skip
    for job_id, token in due:
        for f in _files(settings, token).values():
            f.unlink(missing_ok=True)
        _set(settings, job_id, status="purged")
    return len(due)

