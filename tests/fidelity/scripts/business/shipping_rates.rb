def shipping_cost(weight_kg, zone:, express: false)
  base = { domestic: 5.0, europe: 12.0, world: 25.0 }.fetch(zone)
  per_kg = { domestic: 1.2, europe: 3.5, world: 7.25 }.fetch(zone)
  cost = base + per_kg * [weight_kg - 1, 0].max
  cost *= 1.75 if express
  cost = [cost, 150.0].min
  cost.round(2)
end

parcels = [[0.5, :domestic], [3.2, :europe], [10, :world], [40, :world]]
parcels.each do |w, z|
  std = shipping_cost(w, zone: z)
  exp = shipping_cost(w, zone: z, express: true)
  puts "#{w.to_s.rjust(4)}kg #{z.to_s.ljust(8)} standard #{format('%7.2f', std)} express #{format('%7.2f', exp)}"
end
parcels.sum { |w, z| shipping_cost(w, zone: z) }.round(2)
