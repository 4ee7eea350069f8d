"""Working days of the People's Republic of China calendar, for 限时反馈 deadlines."""
