"""The Vagrant fleet on this machine: a box built from the local Debian 13 base, the network its
containers use, and the dry run (`vagrant up`, deploy, no-op deploy, testinfra, `vagrant destroy`).

The provider is vagrant-lxc (docs/vagrant.md says why): system containers with their own systemd.
"""
