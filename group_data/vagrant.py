"""Settings of the Vagrant fleet only (`inventories/vagrant.py`): its network, a self-signed
certificate, and secrets kept in the (git-ignored) .vagrant directory."""

private_network = "192.168.56.0/24"

tls = {"mode": "self-signed"}

secrets_file = ".vagrant/mastofleet-secrets.json"
age_key_file = ".vagrant/mastofleet.age-key"

# Vagrant reaches VirtualBox and libvirt VMs through their NAT network, and lxc containers from the
# bridge's address on this machine (as the `vagrant` user, which is no operator's).
access = {"ssh_sources": ["10.0.2.0/24", "192.168.56.1/32"]}
