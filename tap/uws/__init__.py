"""UWS 1.1 asynchronous jobs of the TAP service (``/async``), stored in PostgreSQL.

jobs.py       phases, the job record, the executor contract (RunningJob, ResultSink)
store.py      the ``tap_uws`` schema: jobs, uploads and results; claims, reaping, recovery
worker.py     worker threads running jobs through the executor, with time limits
notify.py     LISTEN/NOTIFY of phase changes; asyncio waiters for WAIT
documents.py  UWS 1.1 XML documents (and a default VOTable error document)
params.py     the values of UWS control parameters, and the service limits
routes.py     the Starlette endpoints
service.py    UwsService: all of the above put together, with start/stop
errors.py     the job errors and their HTTP statuses
"""

from tap.uws.jobs import ErrorSummary, Executor, Job, ResultInfo, ResultSink, RunningJob
from tap.uws.params import UwsLimits
from tap.uws.service import ContextOf, UwsService, anonymous, no_context
from tap.uws.store import JobStore, ensure_schema

__all__ = [
    "ContextOf",
    "ErrorSummary",
    "Executor",
    "Job",
    "JobStore",
    "ResultInfo",
    "ResultSink",
    "RunningJob",
    "UwsLimits",
    "UwsService",
    "anonymous",
    "ensure_schema",
    "no_context",
]
