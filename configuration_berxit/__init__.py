from .config import BerxitConfig

__all__ = ["BerxitConfig"]
