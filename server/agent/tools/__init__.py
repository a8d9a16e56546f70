"""The tools the model can call. Each module owns one family; `registry.py` lists them."""
