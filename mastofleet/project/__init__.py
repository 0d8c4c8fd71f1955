"""The operator's project read into a fleet: the inventory and group_data (fleet, data_names) and
the secret store (secrets, secret_generation). Above the views, beside the roles and the plan.
"""
