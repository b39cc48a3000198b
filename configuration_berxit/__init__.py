from .configuration_berxit import BerxitConfig

__all__ = ["BerxitConfig"]
