"""Import: the registry's vendors, engagements and sub-processors from an XLSX template or a
CSV, previewed row by row, then applied in one transaction through the domains' services."""
