"""Developer and operator tools: scoring the NLU, copying settings into the domain, the demo site.

May import any part of the project; nothing in the product imports this folder.
"""
