"""The peer client of the batch benchmark (benches/batch.rs): `anafpy` (PyPI) uploading
invoices one after another, as its documentation shows, against the same simulator.

Run by the benchmark: python anafpy_upload.py API_URL CA_FILE ACCESS REFRESH CIF INVOICE N
Prints one line: {"uploads": N, "seconds": S}.
"""

import asyncio
import json
import ssl
import sys
import time

import httpx2
from anafpy.auth.models import TokenSet
from anafpy.auth.provider import AnafAuth, TokenProvider
from anafpy.auth.store import MemoryTokenStore
from anafpy.efactura.client import EFacturaClient


async def main() -> None:
    api, ca, access, refresh, cif, invoice, n = sys.argv[1:8]
    n = int(n)
    template = open(invoice, encoding="utf-8").read()
    provider = TokenProvider(
        client_id="sim-client-id",
        client_secret="sim-client-secret",
        store=MemoryTokenStore(TokenSet(access_token=access, refresh_token=refresh)),
    )
    http = httpx2.AsyncClient(
        base_url=f"{api}/test/FCTEL/rest",
        auth=AnafAuth(provider),
        verify=ssl.create_default_context(cafile=ca),
        timeout=60.0,
    )
    async with EFacturaClient(provider, http=http) as client:
        start = time.monotonic()
        for i in range(n):
            xml = template.replace(
                "<cbc:ID>ABR-2026-0001</cbc:ID>", f"<cbc:ID>PY-{i:06}</cbc:ID>"
            )
            result = await client.upload(xml, cif=cif)
            assert result.upload_id, result.errors
        seconds = time.monotonic() - start
    print(json.dumps({"uploads": n, "seconds": seconds}))


asyncio.run(main())
