"""REST API v1 (/api/v1/): the same services and visibility rule as the pages."""
