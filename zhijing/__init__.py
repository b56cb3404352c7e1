"""智警 zhijing — an open, self-hostable public-security data platform.

Packages follow the data flow: standards → sources → lake → governance → entities →
derived → access → api / console. A module may import from its left, never from its right
(access is the exception every served layer imports).
"""

__version__ = "0.1.0"
