"""Every change to a workspace: register, deploy, teams, demo. Audited, one transaction each."""
