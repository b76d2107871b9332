"""Jobs shared by the replicas behind a load balancer, through Redis (:mod:`app.runtime.state`).

:class:`SharedJobs` is a :class:`~app.runtime.jobs.Jobs` with the same interface and the
same meaning (a job per key, a ticket per client, claims withdrawn one by one, a job nobody
follows stopped, results kept), but its state is in Redis, so that any replica answers for
any job:

- **Started on A, followed on B.** A job's record (status, progress, error, owner, claims)
  and its tickets are Redis hashes under the epoch (:meth:`SharedState.epoch_base`); the
  replica that starts a job computes it in its own pool and writes its progress there; any
  replica reads it for a poll, a stream of server-sent events (one reader per replica,
  whatever the number of followers: :meth:`SharedJobs._refresh`) or a waiting request.
  Every change of a claim is one Lua script, so two replicas never count past each other.
- **Shared by key, cached.** ``active:<digest of the key>`` names the running job: the same
  request through another replica joins it. A finished result is written once (as bytes,
  :mod:`app.runtime.codec`) under the key's digest and this app's version, with a TTL; each
  replica also keeps decoded results in its own LRU.
- **Cancelled by claims.** ``DELETE`` through any replica withdraws that ticket's claim;
  the computing replica reads the claims (and whether anyone looked at the job within
  ``abandon_after_s``) at each progress report, and stops at the next batch when nobody
  wants the result.
- **A replica that dies.** Each replica renews a lease; a replica whose clients follow a
  job whose owner's lease has expired picks the job up: it plans it again from the job's
  *recipe* (the ``/jobs`` request that started it, its image by id: :attr:`replan`, given by
  the web layer) and computes it, under the same id, so that its followers see it finish.
  A job is tried ``attempts`` times at most (a job that kills its replica does not kill
  them all); after that its followers learn that it failed, with a sentence.
- **Redis out of reach.** New jobs run here as :class:`Jobs` does (their tickets are this
  replica's), and the jobs this replica computes and the tickets it issued are still
  answered from its own memory; nothing fails for it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from concurrent.futures import Future
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, cast

import orjson

from app.explain.progress import Cancelled, Progress
from app.runtime import codec
from app.runtime.jobs import FINISHED, Job, Jobs, Status, Ticket, UnknownJob, default_size
from app.runtime.state import SharedState, Unavailable, digest
from app.runtime.workers import ComputePool, PoolBusy

log = logging.getLogger("uvicorn.error.shared")

STATUSES = ("queued", "running", "done", "failed", "cancelled")

#: Plans a job again from its recipe: (its key, its computation). Given by the web layer.
Replan = Callable[[dict[str, Any]], Awaitable[tuple[Hashable, Callable[[Progress], Any]]]]

STOPPED = (
    "The server that was computing this stopped, and it could not be started again ({why}): "
    "start it again"
)

# Lua scripts: each change of a job's record is atomic. ARGV[1] is the epoch's key prefix.
# A job: {kd, status, progress, error, kind, owner, claims, attempts, recipe}.

_JOIN = """
local base, kd, new, tid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, seen_ms = tonumber(ARGV[7]), tonumber(ARGV[8])
local active = base .. 'active:' .. kd
local jid = redis.call('GET', active)
local created = 0
if jid then
  local status = redis.call('HGET', base .. 'job:' .. jid, 'status')
  if status ~= 'queued' and status ~= 'running' then jid = false end
end
if not jid then
  if ARGV[9] ~= '1' then return {'', 0, 'busy', '0'} end
  jid = new
  redis.call('SET', active, jid, 'EX', ttl)
  redis.call('HSET', base .. 'job:' .. jid, 'kd', kd, 'status', 'queued', 'progress', '0',
    'error', '', 'kind', '', 'owner', ARGV[5], 'claims', 0, 'attempts', 1, 'recipe', ARGV[6])
  created = 1
end
local job = base .. 'job:' .. jid
redis.call('HINCRBY', job, 'claims', 1)
redis.call('EXPIRE', job, ttl)
redis.call('SET', base .. 'seen:' .. jid, '1', 'PX', seen_ms)
if tid ~= '' then
  redis.call('HSET', base .. 'ticket:' .. tid, 'job', jid, 'released', '0')
  redis.call('EXPIRE', base .. 'ticket:' .. tid, ttl)
end
local state = redis.call('HMGET', job, 'status', 'progress')
return {jid, created, state[1], state[2]}
"""

_READ = """
local base, touch, seen_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local rows = {}
for i = 4, #ARGV do
  local row = false
  local entry = ARGV[i]
  local t
  if string.sub(entry, 1, 2) == 't:' then
    t = redis.call('HMGET', base .. 'ticket:' .. string.sub(entry, 3), 'job', 'released')
  else
    t = {string.sub(entry, 3), '0'}  -- a request's claim on a job: not kept as a ticket
  end
  if t[1] then
    local j = redis.call('HMGET', base .. 'job:' .. t[1], 'kd', 'status', 'progress', 'error',
      'kind', 'owner')
    if j[2] then
      local alive = 1
      if j[2] == 'queued' or j[2] == 'running' then
        if touch == '1' and t[2] == '0' then
          redis.call('SET', base .. 'seen:' .. t[1], '1', 'PX', seen_ms)
        end
        if j[6] == '' or redis.call('EXISTS', base .. 'replica:' .. j[6]) == 0 then alive = 0 end
      end
      row = {t[1], t[2], j[1], j[2], j[3], j[4], j[5], j[6], alive}
    end
  end
  rows[#rows + 1] = row
end
return rows
"""

_RELEASE = """
local base, tid, jid = ARGV[1], ARGV[2], ARGV[3]
if tid ~= '' then
  local t = base .. 'ticket:' .. tid
  local released = redis.call('HGET', t, 'released')
  if not released then return {'gone', ''} end
  jid = redis.call('HGET', t, 'job')
  if released == '1' then
    return {'again', redis.call('HGET', base .. 'job:' .. jid, 'status') or ''}
  end
  redis.call('HSET', t, 'released', '1')
end
local job = base .. 'job:' .. jid
local status = redis.call('HGET', job, 'status')
if not status then return {'gone', ''} end
if status == 'queued' or status == 'running' then
  local claims = redis.call('HINCRBY', job, 'claims', -1)
  if claims <= 0 then
    redis.call('HSET', job, 'claims', 0)
    if status == 'queued' then
      status = 'cancelled'
      redis.call('HSET', job, 'status', status)
      local active = base .. 'active:' .. redis.call('HGET', job, 'kd')
      if redis.call('GET', active) == jid then redis.call('DEL', active) end
    end
  end
end
return {'ok', status}
"""

# The owner's checks: 'run'/'go' to go on, anything else to stop (and the job says why).
_STEP = """
local base, jid, rid, fraction = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local job = base .. 'job:' .. jid
local s = redis.call('HMGET', job, 'status', 'owner', 'claims', 'progress', 'kd')
if not s[1] then return 'gone' end
if s[2] ~= rid then return 'taken' end
local wanted = tonumber(s[3]) > 0 and redis.call('EXISTS', base .. 'seen:' .. jid) == 1
local expected = fraction == '' and 'queued' or 'running'
if s[1] ~= expected then return 'stop' end
if not wanted then
  redis.call('HSET', job, 'status', 'cancelled')
  local active = base .. 'active:' .. s[5]
  if redis.call('GET', active) == jid then redis.call('DEL', active) end
  return 'stop'
end
if fraction == '' then
  redis.call('HSET', job, 'status', 'running')
  return 'run'
end
if tonumber(fraction) > tonumber(s[4]) then redis.call('HSET', job, 'progress', fraction) end
return 'go'
"""

_FINISH = """
local base, jid, rid, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local job = base .. 'job:' .. jid
local s = redis.call('HMGET', job, 'status', 'owner', 'kd')
if not s[1] or (s[1] ~= 'queued' and s[1] ~= 'running') then return 0 end
if status ~= 'done' and s[2] ~= rid then return 0 end
redis.call('HSET', job, 'status', status, 'error', ARGV[5], 'kind', ARGV[6])
if status == 'done' then redis.call('HSET', job, 'progress', '1') end
local active = base .. 'active:' .. s[3]
if redis.call('GET', active) == jid then redis.call('DEL', active) end
return 1
"""

_TAKE = """
local base, jid, rid, dead, most = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local job = base .. 'job:' .. jid
local s = redis.call('HMGET', job, 'status', 'owner', 'attempts', 'recipe', 'kd')
if not s[1] or (s[1] ~= 'queued' and s[1] ~= 'running') or s[2] ~= dead then return {0, ''} end
if dead ~= '' and redis.call('EXISTS', base .. 'replica:' .. dead) == 1 then return {0, ''} end
local attempts = tonumber(s[3]) + 1
if attempts > most or s[4] == '' then
  redis.call('HSET', job, 'status', 'failed', 'error', ARGV[6], 'kind', 'RuntimeError')
  local active = base .. 'active:' .. s[5]
  if redis.call('GET', active) == jid then redis.call('DEL', active) end
  return {2, ''}
end
redis.call('HSET', job, 'owner', rid, 'status', 'queued', 'progress', '0', 'attempts', attempts)
redis.call('SET', base .. 'seen:' .. jid, '1', 'PX', tonumber(ARGV[7]))
return {1, s[4]}
"""


@dataclass(eq=False)
class SharedTicket(Ticket):
    """A ticket on a job whose record is in Redis; ``job`` is its state when last read (or
    the live state of a job computed here)."""

    job_id: str = ""
    kept: bool = True  # registered in Redis, to be looked up by id (a page's ticket)
    kind: str = ""  # a failed job's exception type, as recorded


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _status(text: str) -> Status:
    """A job's status as Redis has it (anything else is a record this code did not write)."""
    if text not in STATUSES:
        raise ValueError(f"a job's status {text[:20]!r} is not one of {', '.join(STATUSES)}")
    return cast(Status, text)


def rebuild_error(kind: str, message: str) -> Exception:
    """A failed job's exception, as another replica recorded it: its ValueError is still the
    422 its request would have been."""
    if kind == "OverflowError":
        return OverflowError(message)
    if kind == "ValueError":
        return ValueError(message)
    return RuntimeError(message)


def error_kind(error: BaseException) -> str:
    if isinstance(error, OverflowError):
        return "OverflowError"
    return "ValueError" if isinstance(error, ValueError) else "RuntimeError"


class SharedJobs(Jobs):
    """The jobs of one replica, shared with the others through ``state``'s Redis."""

    shared = True

    def __init__(
        self,
        pool: ComputePool,
        state: SharedState,
        *,
        max_active: int = 16,
        records: int = 256,
        result_items: int = 64,
        result_bytes: int = 256 * 1024 * 1024,
        abandon_after_s: float = 15.0,
        attempts: int = 2,
        tick: float = 0.25,
    ) -> None:
        super().__init__(
            pool,
            max_active=max_active,
            records=records,
            result_items=result_items,
            result_bytes=result_bytes,
            abandon_after_s=abandon_after_s,
        )
        self.state = state
        self.attempts = attempts
        self.tick = tick
        #: Plans a job again from its recipe, to pick up the job of a replica that died.
        self.replan: Replan | None = None
        #: The app's event loop, for pick-ups found by a poll (a worker thread).
        self.loop: asyncio.AbstractEventLoop | None = None
        client = state.client
        self._lua_join = client.register_script(_JOIN)
        self._lua_read = client.register_script(_READ)
        self._lua_release = client.register_script(_RELEASE)
        self._lua_step = client.register_script(_STEP)
        self._lua_finish = client.register_script(_FINISH)
        self._lua_take = client.register_script(_TAKE)
        self._runs: dict[str, Future[None]] = {}  # jobs computing here, by id
        self._here: OrderedDict[str, Job] = OrderedDict()  # their live state (also finished)
        self._issued: OrderedDict[str, str] = OrderedDict()  # tickets issued here → job id
        self._taking: set[str] = set()
        self._warned: set[str] = set()
        self._watched: dict[str, list[Any]] = {}  # ticket id → [ticket, followers]
        self._views: dict[str, dict[str, Any] | None] = {}
        self._tick_event: asyncio.Event | None = None
        self._refresher: asyncio.Task[None] | None = None

    # --- the interface of Jobs ------------------------------------------------------------------

    def start(
        self,
        key: Hashable,
        fn: Callable[[Progress], Any],
        *,
        size: Callable[[Any], int] = default_size,
        recipe: dict[str, Any] | None = None,
    ) -> Ticket:
        return self._issue_shared(key, fn, size, recipe, keep=True)

    def get(self, ticket_id: str) -> Ticket:
        try:
            return super().get(ticket_id)  # issued while Redis was out of reach
        except UnknownJob:
            pass
        try:
            rows = self._read_rows([ticket_id], touch=True) if len(ticket_id) == 32 else {}
        except Unavailable:
            rows = {ticket_id: None}
        row = rows.get(ticket_id)
        if row is not None:
            return self._ticket_of(ticket_id, row)
        ticket = self._mirror(ticket_id)
        if ticket is None:
            raise UnknownJob(ticket_id)
        return ticket

    def release(self, ticket: Ticket) -> None:
        if not isinstance(ticket, SharedTicket):
            super().release(ticket)
            return
        with self._lock:
            if ticket.released:
                return
            ticket.released = True
        if ticket.finished or not ticket.job_id:
            return
        try:
            base = self.state.epoch_base()
            _, status = self.state.call(
                lambda r: self._lua_release(
                    args=[base, ticket.id if ticket.kept else "", ticket.job_id]
                )
            )
        except Unavailable:
            return  # the claim lapses when nobody looks at the job any more
        status = _text(status)
        if status:
            ticket.job.status = _status(status)
        if status == "cancelled":
            future = self._runs.get(ticket.job_id)
            if future is not None:
                future.cancel()  # not started: its place in the pool is free now

    @asynccontextmanager
    async def claim(
        self,
        key: Hashable,
        fn: Callable[[Progress], Any],
        *,
        size: Callable[[Any], int] = default_size,
        recipe: dict[str, Any] | None = None,
    ) -> AsyncIterator[Ticket]:
        self.loop = asyncio.get_running_loop()
        ticket = await asyncio.to_thread(self._issue_shared, key, fn, size, recipe, keep=False)
        try:
            yield ticket
        finally:  # off the event loop, and without waiting: a cancelled request ends now
            self.loop.run_in_executor(None, self._release_quietly, ticket)

    def _touch_shared(self, jid: str) -> None:
        """Job ``jid`` is still wanted by a request waiting here."""
        try:
            base = self.state.epoch_base()
            ms = int(self.abandon_after_s * 1000)
            self.state.call(lambda r: r.set(f"{base}seen:{jid}", "1", px=ms))
        except Unavailable:
            pass

    def _release_quietly(self, ticket: Ticket) -> None:
        try:
            self.release(ticket)
        except Exception:
            log.exception("releasing a job's claim failed")

    async def wait(
        self,
        ticket: Ticket,
        *,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
        tick: float = 0.25,
    ) -> Any:
        if not isinstance(ticket, SharedTicket):
            return await super().wait(ticket, disconnected=disconnected, tick=tick)
        self.loop = asyncio.get_running_loop()
        future = self._runs.get(ticket.job_id)
        if future is not None and not ticket.finished:  # computed here: wait for it
            waiting = asyncio.wrap_future(future)
            touched = time.monotonic()
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=tick)
                if time.monotonic() - touched > self.abandon_after_s / 4:
                    touched = time.monotonic()  # still wanted (without waiting for Redis)
                    self.loop.run_in_executor(None, self._touch_shared, ticket.job_id)
                if not waiting.done() and disconnected is not None and await disconnected():
                    raise Cancelled("the client went away")
            here = self._here.get(ticket.job_id)
            if here is not None:
                ticket.job = here
                return self.outcome(ticket)
        if not ticket.finished:
            async with self._following(ticket) as view:
                while True:
                    snapshot = view()
                    if snapshot is None:
                        raise UnknownJob(ticket.id)
                    if snapshot["status"] in FINISHED:
                        latest = self._watched[ticket.id][0]
                        ticket.job, ticket.kind = latest.job, latest.kind
                        break
                    await self._next_tick()
                    if disconnected is not None and await disconnected():
                        raise Cancelled("the client went away")
        return await asyncio.to_thread(self.outcome, ticket)

    async def watch(self, ticket: Ticket, *, tick: float = 0.25) -> AsyncIterator[dict[str, Any]]:
        if not isinstance(ticket, SharedTicket):
            async for snapshot in super().watch(ticket, tick=tick):
                yield snapshot
            return
        self.loop = asyncio.get_running_loop()
        last: dict[str, Any] | None = None
        async with self._following(ticket) as view:
            while True:
                found = view()
                if found is None:  # gone (Redis restarted): the stream ends, and the
                    return  # page's reconnection is told so (404)
                snapshot = found
                if snapshot != last:
                    yield snapshot
                    last = snapshot
                if snapshot["status"] in FINISHED:
                    return
                await self._next_tick()

    def outcome(self, ticket: Ticket) -> Any:
        if not isinstance(ticket, SharedTicket):
            return super().outcome(ticket)
        job = ticket.job
        if job.status == "done":
            value = job.result if job.result is not None else self._result(str(job.key))
            if value is None:
                raise UnknownJob(ticket.id)  # its result is no longer kept anywhere
            return value
        if job.status == "failed":
            if job.exception is not None:
                raise job.exception
            raise rebuild_error(ticket.kind, job.error or "The computation failed")
        if job.status == "cancelled":
            raise Cancelled()
        raise RuntimeError(f"job {ticket.id} has not finished (status {job.status})")

    @property
    def active(self) -> int:
        return super().active + len(self._runs)

    # --- issuing tickets ---------------------------------------------------------------------

    def _issue_shared(
        self,
        key: Hashable,
        fn: Callable[[Progress], Any],
        size: Callable[[Any], int],
        recipe: dict[str, Any] | None,
        keep: bool,
    ) -> Ticket:
        kd = digest(key)
        tid = secrets.token_hex(16)
        value = self._result(kd)
        if value is not None:
            jid = secrets.token_hex(16)
            if keep:
                try:
                    self._register_done(jid, kd, tid)
                except Unavailable:
                    return super()._issue(kd, fn, size, keep=keep)  # answered from the cache
            done = Job(kd, "done", 1.0, result=value)
            return self._issued_here(SharedTicket(tid, done, job_id=jid, kept=keep))
        may_create = len(self._runs) < self.max_active
        new = secrets.token_hex(16)
        try:
            base = self.state.epoch_base()
            args: list[Any] = [
                base, kd, new, tid if keep else "", self.state.replica,
                orjson.dumps(recipe).decode() if recipe else "", self.state.state_ttl_s,
                int(self.abandon_after_s * 1000), "1" if may_create else "0",
            ]  # fmt: skip
            jid, created, status, progress = self.state.call(lambda r: self._lua_join(args=args))
        except Unavailable:
            return super()._issue(kd, fn, size, keep=keep)  # this replica's alone
        if _text(status) == "busy":
            raise PoolBusy(self.pool.retry_after)
        jid = _text(jid)
        job = Job(kd, _status(_text(status)), float(_text(progress) or 0))
        if created:
            try:
                job = self._submit(jid, kd, fn, size)
            except PoolBusy:
                self._finish_shared(jid, "cancelled")
                raise
        return self._issued_here(SharedTicket(tid, job, job_id=jid, kept=keep))

    def _issued_here(self, ticket: SharedTicket) -> SharedTicket:
        if ticket.kept:
            with self._lock:
                self._issued[ticket.id] = ticket.job_id
                while len(self._issued) > self.records:
                    self._issued.popitem(last=False)
        return ticket

    def _register_done(self, jid: str, kd: str, tid: str) -> None:
        """A finished job's record and a ticket on it, so that any replica answers it."""
        base, ttl = self.state.epoch_base(), self.state.state_ttl_s

        def write(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            pipe.hset(
                f"{base}job:{jid}",
                mapping={"kd": kd, "status": "done", "progress": "1", "error": "", "kind": "",
                         "owner": self.state.replica, "claims": 0, "attempts": 1, "recipe": ""},
            )  # fmt: skip
            pipe.expire(f"{base}job:{jid}", ttl)
            pipe.hset(f"{base}ticket:{tid}", mapping={"job": jid, "released": "0"})
            pipe.expire(f"{base}ticket:{tid}", ttl)
            pipe.execute()

        self.state.call(write)

    # --- reading --------------------------------------------------------------------------------

    def _read_rows(self, entries: list[str], *, touch: bool) -> dict[str, list[str] | None]:
        """Each entry's row (job id, released, key digest, status, progress, error, kind,
        owner, owner alive), None where Redis has none; an entry is a kept ticket's id, or
        ``j:`` and the job id of a request's claim. The jobs of unreleased tickets are
        marked as looked at when ``touch``."""
        base = self.state.epoch_base()
        names = [e if e.startswith("j:") else f"t:{e}" for e in entries]
        args = [base, "1" if touch else "0", int(self.abandon_after_s * 1000), *names]
        rows = self.state.call(lambda r: self._lua_read(args=args))
        found: dict[str, list[str] | None] = {}
        for entry, row in zip(entries, rows, strict=True):
            found[entry] = [_text(value) for value in row] if row else None
        return found

    def _ticket_of(self, ticket_id: str, row: list[str]) -> SharedTicket:
        jid, released, kd, status, progress, error, kind, owner, alive = row
        here = self._here.get(jid)
        if here is not None and here.status in FINISHED and status not in FINISHED:
            job = here  # finished here; the record says so a moment later
        else:
            job = Job(kd, _status(status), float(progress or 0), error or None)
            if here is not None:
                job.exception = here.exception
                job.result = here.result
        if alive == "0":
            self._orphaned(jid, owner)
        return SharedTicket(ticket_id, job, released == "1", job_id=jid, kind=kind)

    def _mirror(self, ticket_id: str) -> SharedTicket | None:
        """A ticket issued here on a job computed here, from this replica's memory (Redis
        out of reach, or it lost the record)."""
        jid = self._issued.get(ticket_id)
        job = self._here.get(jid) if jid else None
        if jid is None or job is None:
            return None
        return SharedTicket(ticket_id, job, job_id=jid)

    def _result(self, kd: str) -> Any:
        """A finished result by key digest: this replica's LRU, else Redis (decoded and kept
        here), else None."""
        value = self.results.get(kd)
        if value is not None:
            return value
        state = self.state
        data = state.fetch(state.version_key("result", kd), state.result_ttl_s)
        if data is None:
            return None
        try:
            value = codec.decode(data)
        except (ValueError, TypeError, KeyError, IndexError) as error:
            self._warn_once("decode", "a shared result could not be read (%s)", error)
            return None
        self.results.put(kd, value, default_size(value))
        return value

    def _warn_once(self, topic: str, message: str, *args: Any) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            log.warning(message, *args)

    # --- computing here -----------------------------------------------------------------------

    def _submit(
        self, jid: str, kd: str, fn: Callable[[Progress], Any], size: Callable[[Any], int]
    ) -> Job:
        job = Job(kd)
        with self._lock:
            self._here[jid] = job
            while len(self._here) > self.records:
                oldest = next((j for j, o in self._here.items() if o.finished), None)
                if oldest is None:
                    break
                del self._here[oldest]
        future = self.pool.submit(self._run_here, jid, job, fn, size)
        with self._lock:
            self._runs[jid] = future
            if future.done():
                self._runs.pop(jid, None)

        def done(_: Future[None]) -> None:
            with self._lock:
                if self._runs.get(jid) is future:
                    del self._runs[jid]
            if future.cancelled() and not job.finished:
                job.status = "cancelled"

        future.add_done_callback(done)
        return job

    def _check(self, jid: str, fraction: str) -> str:
        """The owner's check before it starts (``fraction`` '') and at each report."""
        try:
            base = self.state.epoch_base()
            verdict = self.state.call(
                lambda r: self._lua_step(args=[base, jid, self.state.replica, fraction])
            )
        except Unavailable:
            return "go"  # out of reach: go on, and keep the result here
        return _text(verdict)

    def _run_here(
        self, jid: str, job: Job, fn: Callable[[Progress], Any], size: Callable[[Any], int]
    ) -> None:
        if self._check(jid, "") not in ("run", "go"):
            job.status = "cancelled"
            return
        job.status = "running"

        def progress(fraction: float) -> None:
            if fraction > 0:  # a batch done: the next one may take every core (Cores)
                self.pool.cores.resize()
            job.progress = max(job.progress, min(float(fraction), 1.0))
            if self._check(jid, repr(job.progress)) not in ("go", "run"):
                raise Cancelled()

        try:
            value = fn(progress)
        except Cancelled:
            job.status = "cancelled"
            self._finish_shared(jid, "cancelled")
        except Exception as error:
            job.error, job.exception = str(error), error
            job.status = "failed"
            self._finish_shared(jid, "failed", str(error), error_kind(error))
        else:
            kd = str(job.key)
            self.results.put(kd, value, size(value))
            self._share_result(kd, value)
            job.result, job.progress, job.status = value, 1.0, "done"
            self._finish_shared(jid, "done")

    def _share_result(self, kd: str, value: Any) -> None:
        try:
            data = codec.encode(value)
        except TypeError as error:
            self._warn_once(
                type(value).__name__,
                "a %s result is kept by the replica that computed it only (%s)",
                type(value).__name__, error,
            )  # fmt: skip
            return
        state = self.state
        state.put(state.version_key("result", kd), data, state.result_ttl_s)

    def _finish_shared(self, jid: str, status: str, error: str = "", kind: str = "") -> None:
        try:
            base = self.state.epoch_base()
            args = [base, jid, self.state.replica, status, error, kind]
            self.state.call(lambda r: self._lua_finish(args=args))
        except Unavailable:
            pass

    # --- following: one reader per replica ------------------------------------------------------

    @asynccontextmanager
    async def _following(
        self, ticket: SharedTicket
    ) -> AsyncIterator[Callable[[], dict[str, Any] | None]]:
        entry = self._watched.setdefault(ticket.id, [ticket, 0])
        entry[1] += 1
        self._views.setdefault(ticket.id, ticket.snapshot())
        loop = asyncio.get_running_loop()
        running = self._refresher
        if running is None or running.done() or running.get_loop() is not loop:
            self._tick_event = asyncio.Event()
            self._refresher = loop.create_task(self._refresh())
        try:
            yield lambda: self._views.get(ticket.id)
        finally:
            entry[1] -= 1
            if entry[1] <= 0:
                self._watched.pop(ticket.id, None)
                self._views.pop(ticket.id, None)

    async def _next_tick(self) -> None:
        event = self._tick_event
        if event is None:
            await asyncio.sleep(self.tick)
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=4 * self.tick)

    async def _refresh(self) -> None:
        """While anyone here follows a shared job: read every followed ticket in one call per
        tick (marking their jobs as looked at), and wake the followers."""
        while self._watched:
            tickets: dict[str, SharedTicket] = {t: e[0] for t, e in self._watched.items()}
            entries = {
                (t if ticket.kept else f"j:{ticket.job_id}"): t for t, ticket in tickets.items()
            }
            try:
                read = await asyncio.to_thread(self._read_rows, list(entries), touch=True)
            except Unavailable:
                read = dict.fromkeys(entries)
            except Exception:
                log.exception("reading the followed jobs failed")
                read = dict.fromkeys(entries)
            rows = {entries[entry]: row for entry, row in read.items()}
            for ticket_id, row in rows.items():
                if row is not None:
                    ticket = self._ticket_of(ticket_id, row)
                    entry = self._watched.get(ticket_id)
                    if entry is not None:
                        entry[0].job, entry[0].kind = ticket.job, ticket.kind
                    self._views[ticket_id] = ticket.snapshot()
                elif ticket_id in self._views:
                    mirror = self._mirror(ticket_id)
                    self._views[ticket_id] = mirror.snapshot() if mirror else None
            event, self._tick_event = self._tick_event, asyncio.Event()
            if event is not None:
                event.set()
            await asyncio.sleep(self.tick)

    # --- picking up the jobs of a replica that died ----------------------------------------------

    def _orphaned(self, jid: str, owner: str) -> None:
        """The owner of job ``jid`` is gone: pick it up here (once at a time)."""
        if owner == self.state.replica and jid in self._runs:
            return  # our own heartbeat lapsed a moment; the job is computing here
        with self._lock:
            if jid in self._taking:
                return
            self._taking.add(jid)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            loop.create_task(self._take_over(jid, owner))
        elif self.loop is not None and not self.loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._take_over(jid, owner), self.loop)
        else:
            self._taking.discard(jid)

    async def _take_over(self, jid: str, owner: str) -> None:
        try:
            base = self.state.epoch_base()
            message = STOPPED.format(why=f"it was tried {self.attempts} times")
            args: list[Any] = [base, jid, self.state.replica, owner, self.attempts, message,
                    int(self.abandon_after_s * 1000)]  # fmt: skip
            taken, recipe = await asyncio.to_thread(
                self.state.call, lambda r: self._lua_take(args=args)
            )
            if int(taken) == 2:
                log.warning("job %s failed: replica %s stopped while computing it", jid, owner)
            if int(taken) != 1:
                return
            log.warning("picking up job %s from replica %s, which stopped", jid, owner)
            try:
                if self.replan is None:
                    raise RuntimeError("this replica cannot plan jobs")
                key, fn = await self.replan(orjson.loads(_text(recipe)))
            except Exception as error:
                why = STOPPED.format(why=(str(error) or type(error).__name__)[:200])
                await asyncio.to_thread(self._finish_shared, jid, "failed", why, "RuntimeError")
                return
            await asyncio.to_thread(self._submit, jid, digest(key), fn, default_size)
        except Unavailable:
            pass
        except PoolBusy:  # this replica is full: give the job back to whoever sees it next
            with suppress(Unavailable):
                base = self.state.epoch_base()
                await asyncio.to_thread(
                    self.state.call, lambda r: r.hset(f"{base}job:{jid}", "owner", "")
                )
        finally:
            with self._lock:
                self._taking.discard(jid)
