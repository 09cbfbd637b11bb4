"""The command line's one rule for the files it reads and writes.

Every input and output is checked before any long work starts, and a problem is a
:class:`~.errors.UsageError` (exit status 2, one line naming the option and the problem):

* an **input file** must exist, be a regular file (not a directory, a device or a FIFO) and be
  readable;
* an **output file** is a regular file that may be replaced, or a new file in a directory that
  exists and can be written in. mipshop never creates directories and never writes to a device
  or a pipe (``--json /dev/full`` is refused up front, not after the run). Its suffix must be
  one the writer knows (``--plot x.txt`` is refused, listing the formats);
* an **output directory** (``--pcap DIR``) must exist and be writable; mipshop writes its files
  in it.

Outputs are written atomically (:func:`replace_atomically`): into a hidden temporary file
beside the target, renamed over it only when complete, so that a full disk or an interruption
never leaves a partial file under the name asked for.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import UsageError


def refused_input(what: str, path: Path, error: Exception) -> UsageError:
    """The one line for an input file its loader refused: ``WHAT PATH: problem``. A loader
    names the file itself for a problem of the whole file (not UTF-8, TOML syntax) and not
    for a key's; the path is given once either way."""
    message = str(error)
    if not message.startswith(f"{path}: "):
        message = f"{path}: {message}"
    return UsageError(f"{what} {message}")


def check_input_file(path: Path, what: str) -> None:
    """Refuse an input file that does not exist, is not a regular file or cannot be read.

    ``what`` names it in the message (``"scenario"``, ``"capture"``)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UsageError(f"{what} {path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{what} {path}: {_reason(exc)}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{what} {path}: is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise UsageError(f"{what} {path}: not a regular file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UsageError(f"{what} {path}: cannot read: {_reason(exc)}") from None


def check_output_file(path: Path | None, option: str,
                      suffixes: tuple[str, ...] | None = None) -> None:
    """Refuse, before the run, an output file mipshop could not write (module docstring).

    ``suffixes``: the formats (lower case, no dot) the writer knows; None accepts any name.
    """
    if path is None:
        return
    parent = path.parent
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as exc:
        raise UsageError(f"{option} {path}: {_reason(exc)}") from None
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is not a directory")
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"{option} {path}: is a directory; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        raise UsageError(f"{option} {path}: not a regular file (mipshop writes only files)")
    if suffixes is not None:
        suffix = path.suffix.lower().lstrip(".")
        if suffix not in suffixes:
            given = f"'.{suffix}'" if suffix else "no suffix"
            raise UsageError(f"{option} {path}: unsupported format ({given}); use one of "
                             f"{', '.join('.' + s for s in suffixes)}")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: directory {parent} does not exist")
    if mode is not None:
        # Opening for append writes nothing, yet fails where a write would (read-only files,
        # /proc, a read-only file system).
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise UsageError(f"{option} {path}: cannot write: {_reason(exc)}") from None
    _check_writable_directory(parent, f"{option} {path}")


def check_output_directory(path: Path | None, option: str) -> None:
    """Refuse an output directory that does not exist or cannot be written in."""
    if path is None:
        return
    if not path.exists():
        raise UsageError(f"{option} {path}: directory does not exist (mipshop creates none)")
    if not path.is_dir():
        raise UsageError(f"{option} {path}: not a directory")
    _check_writable_directory(path, f"{option} {path}")


def check_distinct(outputs: dict[str, Path | None]) -> None:
    """Refuse two options naming the same output file."""
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        key = path.resolve()
        if key in seen:
            raise UsageError(f"{option} {path}: the same file as {seen[key]}")
        seen[key] = option


@contextlib.contextmanager
def replace_atomically(path: Path, option: str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block completes, rename it over
    ``path``; when it fails, delete it. An ``OSError`` becomes a :class:`UsageError`."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                    dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        # mkstemp makes the file private (0600): give it the mode a plain open() would have.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise UsageError(f"{option} {path}: cannot write: {_reason(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_text_atomically(path: Path, text: str, option: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` with :func:`replace_atomically`."""
    with replace_atomically(path, option) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _check_writable_directory(directory: Path, label: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UsageError(f"{label}: cannot write in {directory}: {_reason(exc)}") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
