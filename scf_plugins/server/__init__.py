"""``scf serve``: the Open311 GeoReport v2 door, health, and the engine in the same process.

- :mod:`.running`: the server (uvicorn) and the engine beside it; config reloads.
- :mod:`.connections`: the connection guard: deadlines, header cap, connections per address
  and in all.
- :mod:`.web`: the routes, the access log and the checks every POST passes.
- :mod:`.console`: the staff console at ``/console/`` (sign-in, pages, their guards).
- :mod:`.unsubscribe`: ``/unsubscribe/{token}``, where a resident stops the emails.
- :mod:`.report_page`: ``/reports/{id}``, a report's public page (linked in the emails).
- :mod:`.page_headers`: the strict security headers of those two residents' pages.
- :mod:`.inflight`: the server-wide budget of request body bytes in flight.
- :mod:`.bodies`: a request's body, form fields and photos, read within their caps.
- :mod:`.multipart`: a ``multipart/form-data`` report streamed in bounded memory, key first.
- :mod:`.limits`: the token buckets behind the per-key POST and per-address GET rates.
- :mod:`.guards`: who may read ``/metrics``, loopback addresses, and the GETs' rate per address.
- :mod:`.cors`: CORS for the browser apps named in ``[server] cors_origins``.
- :mod:`.apikeys`: API keys: created, stored as hashes, rotated and revoked by name.
- :mod:`.open311`: the GeoReport v2 resources, apart from HTTP.
- :mod:`.report_writer`: the door's writer on SQLite: reports stored a group a transaction.
- :mod:`.form`: what a client sends (query or form), read and checked.
- :mod:`.records`: what the GETs read from the store.
- :mod:`.documents`: how services, requests and updates look.
- :mod:`.formats`: those documents written as JSON or XML.
- :mod:`.posted_updates`: who may post a resident's update, on which issues and how many.
- :mod:`.refusals`: a refusal in the format the path asks for.
- :mod:`.health`: ``/healthz`` and ``/metrics``.
- :mod:`.faults`: the server's own failures, named for logs and ``/healthz``.

May import the host's contract and every core package (``config``, ``store``, ``net``,
``intake``, ``ops``, ``engine``); never ``cli``.
"""
