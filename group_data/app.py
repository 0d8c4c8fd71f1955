"""Mastodon processes on app hosts, after Hachyderm's queue split (incident of 2022-12-20).

CPU-bound `ingress` runs in processes of few threads (DB_POOL = threads = 5) and more of them;
`default`, `push`, `pull` and `mailers` have their own processes; exactly one process in the whole
fleet listens on `scheduler`, and something listens on `fasp`.
"""

web = {"processes": 2, "threads": 5}

streaming = {"ports": [4000, 4001], "db_pool": 10}

# The layout per host; an app host not named here runs `sidekiq` (below).
sidekiq_layout = {
    "freud": [
        {"name": "default", "queues": [["default", 8], ["mailers", 2]], "threads": 10},
        {"name": "ingress", "queues": ["ingress"], "threads": 5},
        {"name": "scheduler", "queues": ["scheduler", "fasp"], "threads": 5},
    ],
    "fritz": [
        {"name": "default", "queues": [["default", 8], ["push", 6]], "threads": 10},
        {"name": "ingress", "queues": ["ingress"], "threads": 5},
        {"name": "pull", "queues": ["pull"], "threads": 10},
    ],
    "franz": [
        {"name": "push", "queues": ["push"], "threads": 10},
        {"name": "pull", "queues": [["pull", 2], ["fasp", 1]], "threads": 10},
        {"name": "mailers", "queues": ["mailers"], "threads": 5},
        {"name": "ingress", "queues": ["ingress"], "threads": 5},
    ],
}

# Any further app host: a general-purpose process (never `scheduler`: that stays on one host).
sidekiq = [
    {
        "name": "general",
        "queues": [["default", 8], ["push", 6], ["ingress", 4], ["mailers", 2], ["pull", 1], ["fasp", 1]],
        "threads": 10,
    },
]
