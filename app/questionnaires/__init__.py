"""Due-diligence questionnaires: what a vendor tells us about its ability to protect the data
before we entrust it (GB/T 35273-2020 §9.1 b)), its answers feeding the engagement's findings."""
