"""Marketing campaigns: an audience frozen at launch, responses, the leads they bring and their ROI."""
