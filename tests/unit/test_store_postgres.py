"""The run store on a real PostgreSQL server: same schema, same migrations, same commands; two servers at once."""

from __future__ import annotations

from ponder.cli import main
from servers import free_port


def test_an_unreachable_server_is_one_clear_line(capsys):
    url = f"postgresql://ponder:secret@127.0.0.1:{free_port()}/postgres"
    assert main(["runs", "list", "--store", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot open the run store" in err[0] and "secret" not in err[0]
