"""pytest plugin: fixtures that assert rewardcert certificates and theorem instances (filled in by issue 4)."""
