"""`pbt-track serve`: a workdir's population as a web page that keeps itself up to date."""

from __future__ import annotations

import click

from pbt_tracker.cli import paths
from pbt_tracker.cli.group import cli


@cli.command()
@click.option("--workdir", "workdirs", multiple=True, envvar="PBT_TRACK_WORKDIR", default=["."], show_default=True,
              type=paths.PathText(folder=True),
              help="Workdir of the launches (env PBT_TRACK_WORKDIR); repeat it to serve several, one tab each.")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True,
              help="The port to listen on; 0 takes any free one.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on; any but a loopback address needs the token the printed URL carries.")
@click.option("--token", "require_token", is_flag=True,
              help="Ask for a token on 127.0.0.1 too: other users of a shared login node can reach its loopback ports.")
def serve(workdirs: tuple[str, ...], port: int, host: str, require_token: bool) -> None:
    """Serve the population as a page that updates itself: table, charts, lineage, keeper, logs. Read-only.

    The page reads the record and nothing else: it never writes it and never
    asks the scheduler, so it shows what the last sync recorded (`pbt-track
    watch`, `report` or a cron `sync` brings the record up to date), and says
    when that was. Nothing on the page comes from the internet.

    \b
    Example:
        pbt-track serve --workdir ./slurm_logs
        ssh -L 8787:localhost:8787 login-node     # on your laptop; then open http://localhost:8787/
        pbt-track serve --workdir runA --workdir runB --port 8788
    """
    from pbt_tracker import collector
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.serve.follow import Workdir
    from pbt_tracker.serve.server import make_server

    try:
        served = [Workdir(path, index) for index, path in enumerate(dict.fromkeys(workdirs))]
        for workdir in served:
            workdir.refresh(force=True)
        server = make_server(served, host, port, require_token)
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    names = ", ".join(str(workdir.path) for workdir in served)
    click.echo(f"Serving {names} read-only at {server.url(host)}")
    if server.token is None:
        click.echo(f"From a laptop: ssh -L {server.port}:localhost:{server.port} <this host>, "
                   f"then open http://localhost:{server.port}/ . Ctrl-C stops.")
    else:
        click.echo("Only requests carrying this URL's token are answered. Ctrl-C stops.")
    collector.for_a_long_life()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
