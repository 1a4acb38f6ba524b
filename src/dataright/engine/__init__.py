"""The fulfilment engine: traversal graph, access / erase / rectify / restrict runs, checkpoints."""
