"""Writes `.env` from `.env.example` on the first run, with fresh random secrets.

Run by `make run` and `make test` before anything reads the settings. Each secret that is
empty in `.env` (or missing from it) gets a random value; a value already set is never
changed, so sessions and encrypted data survive every later run. The file is private (0600).
"""

import base64
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "JWT_SIGNING_KEY": lambda: secrets.token_urlsafe(50),
    "POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(24),
    # A Fernet key (what cryptography's Fernet.generate_key makes), without needing the package.
    "CREDENTIALS_ENCRYPTION_KEY": lambda: base64.urlsafe_b64encode(
        secrets.token_bytes(32)
    ).decode(),
}


def filled(lines: list[str]) -> tuple[list[str], list[str]]:
    """The lines with each empty (or missing) generated secret given a value, and their names."""
    out, present, names = [], set(), []
    for line in lines:
        name, sep, value = line.partition("=")
        if sep and name in GENERATED and not line.startswith("#"):
            present.add(name)
            if not value.strip():
                line = f"{name}={GENERATED[name]()}"
                names.append(name)
        out.append(line)
    for name in [n for n in GENERATED if n not in present]:
        out.append(f"{name}={GENERATED[name]()}")
        names.append(name)
    return out, names


def main(env_path: Path) -> None:
    source = env_path if env_path.exists() else ROOT / ".env.example"
    lines, names = filled(source.read_text().splitlines())
    if names or source != env_path:
        env_path.write_text("\n".join(lines) + "\n")
        env_path.chmod(0o600)
        print(f"{env_path.name}: generated {', '.join(names) or 'nothing'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".env")
