"""Investment leads (招商线索) and their referrals. So far: the industry-chain list."""
