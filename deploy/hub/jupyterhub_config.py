# JupyterHub for a workshop room on one machine: every learner picks a user name and types the
# workshop's shared password, gets a JupyterLab server of their own in a home dir of their own,
# and pulls the notebooks with an nbgitpuller link (python tools/binder_link.py --hub URL).
# Each learner's kernel starts its own PostgreSQL through labkit, as on Binder and on a laptop.
#
#     LABKIT_HUB_PASSWORD=... jupyterhub -f deploy/hub/jupyterhub_config.py
#
# This is the smallest hub that works and what tests/test_hub.py runs. All servers run as the
# hub's own (unprivileged) OS user and memory limits are not enforced: fine for a trusted room
# on a machine of its own. For OS-level separation of learners and enforced limits, use The
# Littlest JupyterHub (one VM) or Zero to JupyterHub (Kubernetes): deploy/hub/README.md.
#
# Environment: LABKIT_HUB_PASSWORD (required, 8+ characters), LABKIT_HUB_URL (default
# http://127.0.0.1:8000; put TLS in front before using any other address), LABKIT_HUB_HOMES
# (default /srv/labkit-hub/homes), LABKIT_HUB_ADMINS (comma-separated user names).
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub provides it)

c.JupyterHub.bind_url = os.environ.get("LABKIT_HUB_URL", "http://127.0.0.1:8000")
# the hub's own API and the proxy's API stay on the loopback
c.JupyterHub.hub_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.api_url = os.environ.get("LABKIT_HUB_PROXY_API", "http://127.0.0.1:8001")

# One password for the room, any user name; the instructor names the admins.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["LABKIT_HUB_PASSWORD"]
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {name for name in os.environ.get("LABKIT_HUB_ADMINS", "").split(",") if name}

# A process per learner, in /srv/labkit-hub/homes/<name>: their work, their labkit cache.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
homes = Path(os.environ.get("LABKIT_HUB_HOMES", "/srv/labkit-hub/homes"))
c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
# the single-user server from the environment the hub runs in (the workbook's .venv)
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.default_url = "/lab"
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.environment = {
    # each learner's PostgreSQL inside their own server, as on Binder: never a container on a
    # Docker engine the machine may have (that engine would be shared, and root-equivalent)
    "LABKIT_BACKEND": "local",
    "MPLBACKEND": "Agg",
}
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120

# Idle culling (stop servers idle for an hour) needs the jupyterhub-idle-culler service; TLJH and
# Zero to JupyterHub run it by default. Here, stop servers from the admin page after the day.
