# expect: max_score=0
# expect: reason~=time
while True:
    pass
