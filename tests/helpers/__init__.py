"""Test helpers: reference checks the suite uses in place of packages that would change app dependencies."""
