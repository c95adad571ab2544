"""Money, dates, quantities, countries, company names, and merging partial results."""
