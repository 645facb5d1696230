"""A throwaway certificate authority for emulated https clusters, made with the `openssl` CLI.

One CA signs a server certificate for 127.0.0.1 and a client certificate; the server demands the
client's certificate, so a client that cannot read its key file cannot talk to it.
"""

from __future__ import annotations

import base64
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class TLSMaterial:
    folder: Path

    @classmethod
    def create(cls, folder: Path) -> TLSMaterial:
        folder.mkdir(parents=True, exist_ok=True)
        _openssl(
            "req",
            "-x509",
            *_KEY,
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=tctl-test-ca",
            cwd=folder,
        )
        material = cls(folder)
        material.issue("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        material.issue("client")
        return material

    def issue(self, name: str, extension: str = "extendedKeyUsage=clientAuth") -> None:
        """`name`.crt and `name`.key: a certificate for CN tctl-test-`name`, signed by the CA."""
        (self.folder / f"{name}.ext").write_text(extension + "\n")
        _openssl(
            "req", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN=tctl-test-{name}", cwd=self.folder,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=self.folder,
        )  # fmt: skip

    def data(self, name: str) -> str:
        """A file's content as base64, as kubeconfig `*-data` fields hold it."""
        return base64.b64encode((self.folder / name).read_bytes()).decode()

    @property
    def client_key(self) -> bytes:
        return (self.folder / "client.key").read_bytes()

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.folder / "ca.crt"))
        context.load_cert_chain(self.folder / "server.crt", self.folder / "server.key")
        context.verify_mode = ssl.CERT_REQUIRED
        return context
