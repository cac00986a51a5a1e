def bsearch_index(arr, target)
  lo = 0
  hi = arr.size - 1
  while lo <= hi
    mid = (lo + hi) / 2
    case arr[mid] <=> target
    when 0 then return mid
    when -1 then lo = mid + 1
    else hi = mid - 1
    end
  end
  nil
end

sorted = [1, 3, 5, 7, 9, 11, 13, 15, 17]
[7, 1, 17, 4, 20].each { |t| puts "#{t}: #{bsearch_index(sorted, t).inspect}" }
puts sorted.bsearch { |x| x >= 8 }
puts sorted.bsearch_index { |x| x >= 8 }
puts (1..100).bsearch { |x| x * x >= 2000 }
sorted.bsearch { |x| x >= 100 }
